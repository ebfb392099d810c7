// The mirror's stage: scaling the customer's viewport into the pane (or 1:1), the customer's
// pointer, and the agent's tools (pointer, highlight, freehand and arrow strokes, and, once
// granted, click/type/scroll) turned into frames through the wasm Mirror's encoders.
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const POINTER_INTERVAL_MS = 33;
const STROKE_INTERVAL_MS = 40;
const FADE_AFTER_MS = 4000;
const FORWARDED_KEYS = ['Enter', 'Escape', 'ArrowUp', 'ArrowDown'];

export class Stage {
  constructor({ toast }) {
    this.toast = toast;
    this.mirror = null;
    this.pane = $('pane');
    this.stage = $('stage');
    this.frame = $('mirror');
    this.glass = $('glass');
    this.ink = $('ink');
    this.cursor = $('customer-pointer');
    this.layer = document.createElementNS(SVG, 'g');
    this.ink.append(this.layer);
    this.viewport = { width: 1280, height: 800 };
    this.scale = 1;
    this.tool = 'pointer';
    this.granted = false;
    this.lastPointer = 0;
    this.strokeId = 0;
    this.stroke = null;
    this.scroll = { x: -1, y: -1 };
    new ResizeObserver(() => this.fit()).observe(this.pane);
    $('one-to-one').addEventListener('change', () => this.fit());
    for (const b of document.querySelectorAll('.tool')) {
      b.addEventListener('click', () => this.setTool(b.dataset.tool));
    }
    $('clear').addEventListener('click', () => {
      this.layer.replaceChildren();
      if (this.mirror) this.mirror.clearAnnotations();
    });
    this.glass.addEventListener('pointermove', (e) => this.move(e));
    this.glass.addEventListener('pointerdown', (e) => this.down(e));
    this.glass.addEventListener('pointerup', (e) => this.up(e));
    this.glass.addEventListener('wheel', (e) => this.wheel(e), { passive: false });
    this.focusRing = $('customer-focus');
    const follow = () => { this.followScroll(); this.followFocus(); requestAnimationFrame(follow); };
    requestAnimationFrame(follow);
    this.setTool('pointer');
  }

  attach(mirror) { this.mirror = mirror; this.layer.replaceChildren(); }

  setViewport(width, height) {
    if (!width || !height) return;
    this.viewport = { width, height };
    this.stage.style.width = `${width}px`;
    this.stage.style.height = `${height}px`;
    this.fit();
  }

  fit() {
    const one = $('one-to-one').checked;
    const { width, height } = this.viewport;
    const fit = Math.min(this.pane.clientWidth / width, this.pane.clientHeight / height, 1);
    this.scale = one ? 1 : Math.max(fit, 0.1);
    this.pane.classList.toggle('one-to-one', one);
    this.stage.style.transform = `scale(${this.scale})`;
    this.stage.style.left = one ? '0px' : `${Math.max(0, (this.pane.clientWidth - width * this.scale) / 2)}px`;
    $('scale').textContent = `${width}×${height} · ${Math.round(this.scale * 100)}%`;
  }

  setGranted(granted) {
    this.granted = granted;
    if (!granted && this.tool === 'control') this.setTool('pointer');
  }

  setTool(tool) {
    if (tool === 'control' && !this.granted) return;
    this.tool = tool;
    this.glass.dataset.tool = tool;
    for (const b of document.querySelectorAll('.tool')) b.classList.toggle('active', b.dataset.tool === tool);
  }

  customerPointer(x, y) {
    this.cursor.hidden = false;
    this.cursor.style.left = `${x}px`;
    this.cursor.style.top = `${y}px`;
  }

  /** Viewport CSS pixels of the customer's page under a console pointer event. */
  point(e) {
    const r = this.stage.getBoundingClientRect();
    return { x: Math.round((e.clientX - r.left) / this.scale), y: Math.round((e.clientY - r.top) / this.scale) };
  }

  win() { return this.frame.contentWindow; }

  followScroll() {
    const w = this.win();
    if (!w) return;
    const x = w.scrollX, y = w.scrollY;
    if (x === this.scroll.x && y === this.scroll.y) return;
    this.scroll = { x, y };
    this.layer.setAttribute('transform', `translate(${-x} ${-y})`);
  }

  /** Outlines the field the customer is in (the mirror marks it `data-cb-focus`). */
  followFocus() {
    const doc = this.frame.contentDocument;
    const el = doc && doc.querySelector('[data-cb-focus]');
    const r = el && el.getBoundingClientRect();
    const shown = Boolean(r && (r.width || r.height));
    this.focusRing.hidden = !shown;
    if (!shown) return;
    Object.assign(this.focusRing.style, { left: `${r.left}px`, top: `${r.top}px`, width: `${r.width + 8}px`, height: `${r.height + 8}px` });
  }

  /** The innermost mirrored element at a viewport point: through shadow roots and frames. */
  elementAt(x, y) {
    let doc = this.frame.contentDocument;
    let el = doc && doc.elementFromPoint(x, y);
    for (let depth = 0; el && depth < 8; depth += 1) {
      if (el.shadowRoot) {
        const inner = el.shadowRoot.elementFromPoint(x, y);
        if (inner && inner !== el) { el = inner; continue; }
      }
      if (el.tagName === 'IFRAME' && el.contentDocument) {
        const r = el.getBoundingClientRect();
        x -= r.left; y -= r.top;
        doc = el.contentDocument;
        const inner = doc.elementFromPoint(x, y);
        if (inner) { el = inner; continue; }
      }
      break;
    }
    return el;
  }

  move(e) {
    const p = this.point(e);
    const now = performance.now();
    if (this.mirror && now - this.lastPointer >= POINTER_INTERVAL_MS) {
      this.lastPointer = now;
      this.mirror.pointer(p.x, p.y);
    }
    if (!this.stroke) return;
    const d = { x: p.x + this.scroll.x, y: p.y + this.scroll.y };
    if (this.stroke.arrow) {
      this.stroke.points[1] = d;
    } else {
      this.stroke.points.push(d);
      this.stroke.pending.push(d.x, d.y);
      if (now - this.stroke.sent >= STROKE_INTERVAL_MS) this.flushStroke(false);
    }
    this.drawStroke(this.stroke);
  }

  down(e) {
    if (!this.mirror) return;
    const p = this.point(e);
    if (this.tool === 'draw' || this.tool === 'arrow') {
      this.glass.setPointerCapture(e.pointerId);
      const d = { x: p.x + this.scroll.x, y: p.y + this.scroll.y };
      const arrow = this.tool === 'arrow';
      const el = document.createElementNS(SVG, 'path');
      el.setAttribute('class', 'stroke');
      this.layer.append(el);
      this.strokeId += 1;
      this.stroke = { id: this.strokeId, arrow, points: arrow ? [d, d] : [d], pending: [d.x, d.y], sent: performance.now(), el };
      if (!arrow) this.flushStroke(false);
      return;
    }
    const el = this.elementAt(p.x, p.y);
    const id = el ? this.mirror.nodeId(el) : 0;
    if (this.tool === 'highlight' && id) {
      this.mirror.highlight(id);
      this.flash(el);
    } else if (this.tool === 'area' && id) {
      // The element under the pointer names the area; the customer sees it outlined.
      this.mirror.requestArea(id);
      this.flash(el);
      this.setTool('pointer');
      if (this.onArea) this.onArea(id);
    } else if (this.tool === 'control' && id) {
      this.mirror.click(id, p.x, p.y);
      if (/^(INPUT|TEXTAREA)$/.test(el.tagName) && !/^(checkbox|radio|submit|button|reset)$/i.test(el.type || '')) {
        this.typeInto(el, id);
      }
    }
  }

  up(e) {
    if (!this.stroke) return;
    this.glass.releasePointerCapture(e.pointerId);
    if (this.stroke.arrow) this.stroke.pending = this.stroke.points.flatMap((q) => [q.x, q.y]);
    this.flushStroke(true);
    const done = this.stroke.el;
    this.stroke = null;
    setTimeout(() => { done.classList.add('fade'); setTimeout(() => done.remove(), 1300); }, FADE_AFTER_MS);
  }

  flushStroke(done) {
    const s = this.stroke;
    if (!s.pending.length && !done) return;
    this.mirror.stroke(s.id, s.arrow, new Int32Array(s.pending), done);
    s.pending = [];
    s.sent = performance.now();
  }

  drawStroke(s) {
    const pts = s.points;
    let d = `M${pts[0].x} ${pts[0].y}` + pts.slice(1).map((q) => ` L${q.x} ${q.y}`).join('');
    if (s.arrow) {
      const [a, b] = pts;
      const ang = Math.atan2(b.y - a.y, b.x - a.x);
      const h = (t) => `${b.x - 16 * Math.cos(ang + t)} ${b.y - 16 * Math.sin(ang + t)}`;
      d += ` M${h(0.5)} L${b.x} ${b.y} L${h(-0.5)}`;
    }
    s.el.setAttribute('d', d);
  }

  flash(el) {
    const r = el.getBoundingClientRect();
    const rect = document.createElementNS(SVG, 'rect');
    rect.setAttribute('class', 'flash');
    for (const [k, v] of [['x', r.left + this.scroll.x - 3], ['y', r.top + this.scroll.y - 3], ['width', r.width + 6], ['height', r.height + 6], ['rx', 6]]) rect.setAttribute(k, v);
    this.layer.append(rect);
    setTimeout(() => { rect.style.opacity = '0'; setTimeout(() => rect.remove(), 900); }, 900);
  }

  typeInto(el, id) {
    const r = el.getBoundingClientRect();
    const box = document.createElement('input');
    box.className = 'typing';
    box.value = el.value || '';
    box.setAttribute('aria-label', 'Type into the customer\'s field');
    // Over the mirrored field: its rect is in the mirror's viewport, scaled into the pane.
    const s = this.stage.getBoundingClientRect(), p = this.pane.getBoundingClientRect();
    Object.assign(box.style, {
      left: `${s.left - p.left + this.pane.scrollLeft + r.left * this.scale}px`,
      top: `${s.top - p.top + this.pane.scrollTop + r.top * this.scale}px`,
      width: `${Math.max(160, r.width * this.scale)}px`,
    });
    this.pane.append(box);
    box.addEventListener('input', () => this.mirror.textInput(id, box.value));
    const close = () => box.remove();
    box.addEventListener('blur', close);
    box.addEventListener('keydown', (e) => {
      // Keys a page's own script acts on (submit, close, pick from a list) go to the customer's
      // field; the customer's page decides (Enter that presses a read-only button is refused).
      if (FORWARDED_KEYS.includes(e.key)) {
        this.mirror.key(id, e.key, (e.shiftKey ? 1 : 0) | (e.ctrlKey ? 2 : 0) | (e.altKey ? 4 : 0) | (e.metaKey ? 8 : 0));
      }
      if (e.key === 'Enter' || e.key === 'Escape') close();
    });
    box.focus();
  }

  wheel(e) {
    if (this.tool !== 'control' || !this.mirror) return;
    e.preventDefault();
    this.mirror.scroll(0, Math.max(0, Math.round(this.scroll.x + e.deltaX)), Math.max(0, Math.round(this.scroll.y + e.deltaY)));
  }
}
