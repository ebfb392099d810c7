// The customer's co-browse UI, drawn only: consent prompts, the session banner and the overlay
// of the agent's pointer, highlights and strokes. Every decision is made in Rust
// (`web/customer.rs`); this file builds DOM inside one shadow root whose host carries
// `data-cobrowse-overlay`, so capture never sends it and the site's styles neither leak in nor
// out. `act(name, value)` reports what the customer did: code, cancel, accept, decline, stop,
// revoke, allow (its value: the grant's duration in seconds, "0" until stopped), deny.
const CSS = `
:host{all:initial}
*{box-sizing:border-box;font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif}
.layer{position:absolute;left:0;top:0;width:0;height:0;overflow:visible;pointer-events:none}
.ptr{position:fixed;left:0;top:0;width:22px;height:22px;pointer-events:none;z-index:2147483647;
 transition:transform 60ms linear;display:none}
.hl{position:absolute;border:3px solid #f59e0b;border-radius:6px;pointer-events:none;
 animation:pulse 1.2s ease-out 2;box-shadow:0 0 0 4px rgba(245,158,11,.3)}
@keyframes pulse{0%{opacity:1;transform:scale(1)}100%{opacity:0;transform:scale(1.06)}}
svg.ink{position:absolute;left:0;top:0;overflow:visible;pointer-events:none}
svg.ink path{fill:none;stroke:#e11d48;stroke-width:4;stroke-linecap:round;stroke-linejoin:round;
 transition:opacity 1s}
.bar{position:fixed;left:50%;bottom:16px;transform:translateX(-50%);z-index:2147483647;
 display:flex;gap:12px;align-items:center;background:#111827;color:#f9fafb;padding:10px 14px;
 border-radius:999px;box-shadow:0 6px 24px rgba(0,0,0,.25)}
.bar.control{background:#7c2d12}.bar.paused{background:#374151}
.dot{width:10px;height:10px;border-radius:50%;background:#22c55e}
.bar.control .dot{background:#f97316}.bar.paused .dot{background:#9ca3af}
button{cursor:pointer;border:0;border-radius:999px;padding:6px 14px;font-weight:600;
 background:#f9fafb;color:#111827}
button:focus-visible,input:focus-visible{outline:3px solid #60a5fa;outline-offset:2px}
button.primary{background:#2563eb;color:#fff}button.ghost{background:#e5e7eb}
.back{position:fixed;inset:0;background:rgba(17,24,39,.45);z-index:2147483647;display:flex;
 align-items:center;justify-content:center}
.dlg{background:#fff;color:#111827;border-radius:14px;padding:22px 24px;width:min(420px,92vw);
 box-shadow:0 20px 50px rgba(0,0,0,.3)}
.dlg h2{font-size:18px;font-weight:700;margin:0 0 8px}.dlg p{margin:0 0 14px;color:#374151}
.dlg input{width:100%;font-size:22px;letter-spacing:3px;padding:10px 12px;border:1px solid #d1d5db;
 border-radius:8px;margin:0 0 6px}
.area{position:absolute;border:3px dashed #f97316;border-radius:6px;pointer-events:none;
 box-shadow:0 0 0 9999px rgba(17,24,39,.12)}
.left{font-variant-numeric:tabular-nums;font-weight:700}
.e2ee{font-variant-numeric:tabular-nums;opacity:.9;white-space:nowrap}.e2ee::before{content:"\\1F512  "}
.row.wrap{flex-wrap:wrap}
.err{color:#b91c1c;min-height:20px;margin:0 0 8px}.row{display:flex;gap:8px;justify-content:flex-end}
`;
const ARROW = '<svg viewBox="0 0 22 22" width="22" height="22"><path d="M2 2l7 18 2.5-7.5L19 10z" ' +
  'fill="#7c3aed" stroke="#fff" stroke-width="1.5"/></svg>';

function el(doc, tag, attrs, text) {
  const e = doc.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text) e.textContent = text;
  return e;
}

export class Ui {
  constructor(act) {
    const doc = document;
    this.doc = doc;
    this.act = act;
    this.host = el(doc, 'div', { 'data-cobrowse-overlay': '', id: 'cobrowse-ui' });
    this.root = this.host.attachShadow({ mode: 'open' });
    const style = el(doc, 'style');
    style.textContent = CSS;
    this.layer = el(doc, 'div', { class: 'layer', 'aria-hidden': 'true' });
    this.ptr = el(doc, 'div', { class: 'ptr', 'aria-hidden': 'true' });
    this.ptr.innerHTML = ARROW;
    this.ink = doc.createElementNS('http://www.w3.org/2000/svg', 'svg');
    this.ink.setAttribute('class', 'ink');
    this.ink.setAttribute('width', '1');
    this.ink.setAttribute('height', '1');
    this.layer.append(this.ink);
    this.strokes = new Map();
    this.root.append(style, this.layer, this.ptr);
    (doc.documentElement || doc.body).append(this.host);
    this.bar = null;
    this.dialog = null;
  }

  remove() { this.host.remove(); }

  // --- dialogs -------------------------------------------------------------------------
  _dialog(title, text, build, cancel) {
    this.close();
    const back = el(this.doc, 'div', { class: 'back' });
    const dlg = el(this.doc, 'div', { class: 'dlg', role: 'dialog', 'aria-modal': 'true',
      'aria-labelledby': 'cb-t', 'aria-describedby': 'cb-d' });
    dlg.append(el(this.doc, 'h2', { id: 'cb-t' }, title), el(this.doc, 'p', { id: 'cb-d' }, text));
    const focus = build(dlg);
    back.append(dlg);
    back.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); this.act(cancel, ''); }
      if (e.key === 'Tab') { // keep focus inside the dialog
        const f = dlg.querySelectorAll('button,input');
        const first = f[0], last = f[f.length - 1], cur = this.root.activeElement;
        if (e.shiftKey && cur === first) { e.preventDefault(); last.focus(); }
        else if (!e.shiftKey && cur === last) { e.preventDefault(); first.focus(); }
      }
    });
    this.before = this.doc.activeElement;
    this.dialog = back;
    this.root.append(back);
    focus.focus();
  }

  _buttons(dlg, spec) {
    const row = el(this.doc, 'div', { class: 'row' });
    const out = spec.map(([label, name, cls, value]) => {
      const attrs = { type: 'button', class: cls, 'data-act': name };
      if (value !== undefined) attrs['data-value'] = String(value);
      const b = el(this.doc, 'button', attrs, label);
      b.addEventListener('click', () => this.act(name, name === 'code' ? this.input.value
        : value !== undefined ? String(value) : ''));
      row.append(b);
      return b;
    });
    dlg.append(row);
    return out;
  }

  close() {
    if (!this.dialog) return;
    this.dialog.remove();
    this.dialog = null;
    if (this.before && this.before.focus) try { this.before.focus(); } catch (e) { /* gone */ }
  }

  codePrompt() {
    this._dialog('Share this page with your agent',
      'Enter the code your agent gave you. The agent will see this page, not other tabs or apps; ' +
      'card numbers and passwords stay hidden. You can stop at any time.', (dlg) => {
        this.input = el(this.doc, 'input', { inputmode: 'numeric', autocomplete: 'off',
          'aria-label': 'Co-browse code', name: 'cobrowse-code', 'data-cobrowse-mask': '' });
        this.input.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') { e.preventDefault(); this.act('code', this.input.value); }
        });
        this.err = el(this.doc, 'div', { class: 'err', role: 'alert' });
        dlg.append(this.input, this.err);
        this._buttons(dlg, [['Cancel', 'cancel', 'ghost'], ['Share', 'code', 'primary']]);
        return this.input;
      }, 'cancel');
  }

  codeError(text) { if (this.err) this.err.textContent = text; }

  offerPrompt() {
    this._dialog('Your agent would like to see this page',
      'If you accept, the agent sees this page as you do, except card numbers and passwords, ' +
      'and cannot act on it unless you allow it. You can stop at any time.', (dlg) =>
        this._buttons(dlg, [['Decline', 'cancel', 'ghost'], ['Accept', 'accept', 'primary']])[1],
      'cancel');
  }

  // `area`: the agent asks for the outlined area only; `choices`: durations in seconds.
  navPrompt(area = false, choices = [300, 900, 1800]) {
    const label = (s) => s % 60 ? `${s} s` : `${s / 60} min`;
    const spec = [['Decline', 'deny', 'ghost']];
    for (const s of choices) spec.push([label(s), 'allow', 'primary', s]);
    spec.push(['Until I stop it', 'allow', 'primary', 0]);
    this._dialog(area ? 'Allow the agent to control the outlined area?'
      : 'Allow the agent to control this page?',
      (area ? 'The agent will be able to click, type and scroll inside the outlined area only, ' +
        'and not leave this page. '
        : 'The agent will be able to click, type into fields and move between pages of this site. ') +
      'Hidden fields stay hidden. Choose for how long; you can take control back at any time ' +
      'with Revoke.', (dlg) => {
        const buttons = this._buttons(dlg, spec);
        buttons[0].parentNode.classList.add('wrap');
        return buttons[1];
      }, 'deny');
  }

  // --- banner ----------------------------------------------------------------------------
  // Outlines the region of a scoped grant ([x, y, w, h] in document pixels), or removes it.
  outline(rect) {
    if (!rect) { if (this.area) this.area.remove(); this.area = null; return; }
    if (!this.area) {
      this.area = el(this.doc, 'div', { class: 'area', 'data-cobrowse-area': '' });
      this.layer.append(this.area);
    }
    const [x, y, w, h] = rect;
    Object.assign(this.area.style, { left: x - 4 + 'px', top: y - 4 + 'px', width: w + 8 + 'px',
      height: h + 8 + 'px' });
  }

  // `left`: the countdown of a time-boxed grant ('' until revoked); `scoped`: one area only;
  // `secure`: the safety code of an end-to-end encrypted session ('…' while keying, '' clear);
  // `compare`: keyed without a code (accepted in a chat), so only comparing it by voice counts.
  banner(state, viewers = 1, left = '', scoped = false, secure = '', compare = false) {
    const key = `${state}|${viewers}|${scoped}|${!!left}|${secure}|${compare}`;
    if (this.bar && this.barKey === key && left) {
      // Only the countdown moved: the rest (and the focus on Revoke) stays.
      const span = this.bar.querySelector('.left');
      span.textContent = left;
      span.setAttribute('data-left', left);
      return;
    }
    this.barKey = key;
    if (this.bar) this.bar.remove();
    this.bar = null;
    if (!state) return;
    const many = viewers > 1;
    const text = {
      viewing: many ? `${viewers} people are viewing this page` : 'An agent is viewing this page',
      control: (scoped ? 'The agent can control the outlined area' : 'The agent can control this page') +
        (many ? `; ${viewers} people are viewing it` : ''),
      paused: 'Sharing is paused on this page',
    }[state];
    const bar = el(this.doc, 'div', { class: 'bar ' + state, role: 'status', 'aria-live': 'polite',
      'data-viewers': String(viewers) });
    bar.append(el(this.doc, 'span', { class: 'dot' }), el(this.doc, 'span', {}, text));
    if (secure) {
      const keyed = secure !== '…';
      const title = compare
        ? 'Encrypted between you and the agent. Ask the agent to read their code on a phone or ' +
          'video call, not in this chat (whoever runs the chat could fake it there): if the ' +
          'codes differ, someone is in the middle, so stop sharing.'
        : 'Only you and the agent can read what is shared; the relay cannot. Compare this ' +
          'code with the one the agent reads to you.';
      const text = !keyed ? 'Securing…' : compare
        ? `End-to-end encrypted · code ${secure} · compare by phone, not in this chat`
        : `End-to-end encrypted · code ${secure}`;
      bar.append(el(this.doc, 'span', { class: 'e2ee', 'data-e2ee': keyed ? secure : '',
        'data-compare': compare ? 'phone' : '', title }, text));
    }
    if (state === 'control' && left) {
      bar.append(el(this.doc, 'span', { class: 'left', 'data-left': left, role: 'timer',
        'aria-label': 'time left' }, left));
    }
    if (state === 'control') {
      const r = el(this.doc, 'button', { type: 'button', 'data-act': 'revoke' }, 'Revoke');
      r.addEventListener('click', () => this.act('revoke', ''));
      bar.append(r);
    }
    const s = el(this.doc, 'button', { type: 'button', 'data-act': 'stop' }, 'Stop sharing');
    s.addEventListener('click', () => this.act('stop', ''));
    bar.append(s);
    this.bar = bar;
    this.root.append(bar);
  }

  // --- overlay ---------------------------------------------------------------------------
  pointer(x, y) {
    this.ptr.style.display = 'block';
    this.ptr.style.transform = `translate(${x}px,${y}px)`;
  }

  highlight(x, y, w, h) {
    const d = el(this.doc, 'div', { class: 'hl' });
    Object.assign(d.style, { left: x - 4 + 'px', top: y - 4 + 'px', width: w + 8 + 'px', height: h + 8 + 'px' });
    this.layer.append(d);
    setTimeout(() => d.remove(), 2600);
  }

  stroke(id, arrow, pts, done) {
    let s = this.strokes.get(id);
    if (!s) {
      const p = this.doc.createElementNS('http://www.w3.org/2000/svg', 'path');
      s = { p, pts: [] };
      this.strokes.set(id, s);
      this.ink.append(p);
    }
    for (let i = 0; i + 1 < pts.length; i += 2) s.pts.push([pts[i], pts[i + 1]]);
    const q = s.pts;
    let d = q.map((v, i) => (i ? 'L' : 'M') + v[0] + ' ' + v[1]).join('');
    if (arrow && q.length > 1) {
      const [a, b] = [q[0], q[q.length - 1]];
      d = `M${a[0]} ${a[1]}L${b[0]} ${b[1]}`;
      const t = Math.atan2(b[1] - a[1], b[0] - a[0]);
      for (const o of [2.6, -2.6]) d += `M${b[0]} ${b[1]}l${16 * Math.cos(t + o)} ${16 * Math.sin(t + o)}`;
    }
    s.p.setAttribute('d', d);
    if (done) {
      setTimeout(() => { s.p.style.opacity = '0'; }, 2500);
      setTimeout(() => { s.p.remove(); this.strokes.delete(id); }, 3600);
    }
  }

  clear() {
    this.strokes.forEach((s) => s.p.remove());
    this.strokes.clear();
    this.layer.querySelectorAll('.hl').forEach((d) => d.remove());
  }
}
