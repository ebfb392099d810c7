/*! Web messaging widget (ES module), loaded lazily by cobrowse.js when its script tag has
 * `data-messaging`. mount({ base, site }) adds a launcher and a conversation panel inside a
 * shadow root: history on return (guest token in localStorage), typing both ways, delivery and
 * read receipts, attachments, quick replies, the co-browse invitation (Accept calls
 * Cobrowse.acceptOffer), and voice and video calls from the agent (widget-call.js, loaded
 * once the guest has a conversation), and cards and carousels whose postback buttons answer
 * as the customer (widget-rich.js). Talks to /api/messaging/guest/* and /api/cobrowse/offers. */
import { RICH_CSS, richElement } from './widget-rich.js';

const CSS = `
:host { all: initial; font: 14px/1.4 system-ui, sans-serif; color: #1f2937; }
.launch { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 999px;
  background: #2563eb; color: #fff; padding: 12px 18px; font: inherit; font-weight: 600; cursor: pointer;
  box-shadow: 0 4px 14px rgba(0,0,0,.2); }
.launch:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #93c5fd; outline-offset: 2px; }
.badge { background: #ef4444; border-radius: 999px; padding: 0 7px; margin-left: 6px; font-size: 12px; }
.panel { position: fixed; right: 20px; bottom: 76px; z-index: 2147483000; width: min(360px, calc(100vw - 40px));
  height: min(520px, calc(100vh - 120px)); background: #fff; border: 1px solid #d1d5db; border-radius: 12px;
  display: flex; flex-direction: column; box-shadow: 0 10px 30px rgba(0,0,0,.2); }
.panel[hidden] { display: none; }
header { padding: 10px 14px; border-bottom: 1px solid #e5e7eb; display: flex; justify-content: space-between; align-items: center; }
header h2 { font-size: 15px; margin: 0; }
.close { border: 0; background: none; font-size: 20px; cursor: pointer; }
.log { flex: 1; overflow-y: auto; padding: 10px 12px; display: flex; flex-direction: column; gap: 6px; }
.msg { max-width: 80%; padding: 7px 10px; border-radius: 10px; background: #f3f4f6; white-space: pre-wrap; word-break: break-word; }
.msg.customer { align-self: flex-end; background: #2563eb; color: #fff; }
.msg.system { align-self: center; background: none; color: #6b7280; font-size: 12px; }
.meta { font-size: 11px; opacity: .75; margin-top: 2px; }
.msg img { max-width: 100%; border-radius: 6px; display: block; margin-top: 4px; }
.msg a { color: inherit; }
.quick { display: flex; flex-wrap: wrap; gap: 6px; }
.quick button, .offer button { border: 1px solid #2563eb; color: #2563eb; background: #fff; border-radius: 999px; padding: 4px 10px; font: inherit; cursor: pointer; }
.offer { border: 1px solid #93c5fd; background: #eff6ff; border-radius: 10px; padding: 8px 10px; }
.offer button.accept { background: #2563eb; color: #fff; }
.typing { min-height: 18px; padding: 0 12px; color: #6b7280; font-size: 12px; }
form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #e5e7eb; align-items: flex-end; }
textarea { flex: 1; resize: none; font: inherit; padding: 6px 8px; border: 1px solid #d1d5db; border-radius: 8px; min-height: 36px; }
form button { border: 0; border-radius: 8px; background: #2563eb; color: #fff; padding: 8px 12px; font: inherit; cursor: pointer; }
form button.attach { background: #e5e7eb; color: #111827; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;

export function mount({ base = './', site = '' } = {}) {
  const host = document.createElement('div');
  host.id = 'cobrowse-messaging';
  // Blocked for co-browse: the agent sees a neutral box where the widget is, never the
  // conversation or an unsent draft (the agent has the conversation in the inbox).
  host.setAttribute('data-cobrowse-block', '');
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = `<style>${CSS}${RICH_CSS}</style>
    <button class="launch" type="button" aria-expanded="false" aria-controls="panel">Chat with us<span class="badge" hidden></span></button>
    <section class="panel" id="panel" role="dialog" aria-label="Messages" hidden>
      <header><h2>Messages</h2><button class="close" type="button" aria-label="Close messages">×</button></header>
      <div class="log" role="log" aria-live="polite" aria-label="Conversation" tabindex="0"></div>
      <div class="typing" aria-live="polite"></div>
      <form>
        <label class="sr" for="text">Your message</label>
        <textarea id="text" rows="1" placeholder="Write a message…"></textarea>
        <input class="sr file" type="file" tabindex="-1" aria-hidden="true">
        <button class="attach" type="button" aria-label="Attach a file">📎</button>
        <button type="submit">Send</button>
      </form>
    </section>`;
  const attach = () => document.body.appendChild(host);
  if (document.body) attach(); else document.addEventListener('DOMContentLoaded', attach, { once: true });
  const $ = (sel) => root.querySelector(sel);
  const launch = $('.launch'), panel = $('.panel'), log = $('.log'), text = $('textarea');
  const typingEl = $('.typing'), badge = $('.badge'), file = $('.file');
  const key = 'messaging:token:' + site;
  let token = null, stream = null, lastConversation = null, unread = 0, typingTimer = 0, typingSent = false;
  const seen = new Map();

  const api = async (path, opts = {}) => {
    const headers = Object.assign({}, opts.headers || {});
    if (token) headers['X-Guest-Token'] = token;
    if (opts.json !== undefined) { headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(opts.json); }
    const r = await fetch(base + path, { method: opts.method || 'GET', headers, body: opts.body });
    if (!r.ok) throw Object.assign(new Error((await r.json().catch(() => ({}))).error || r.statusText), { status: r.status });
    return r.status === 204 ? null : r.json();
  };
  async function ensureToken() {
    try { token = token || localStorage.getItem(key); } catch (e) { /* storage off: per-page guest */ }
    if (!token) {
      token = (await api('api/messaging/guest', { method: 'POST' })).token;
      try { localStorage.setItem(key, token); } catch (e) { /* ignore */ }
    }
    return token;
  }
  const attachmentUrl = (id) => base + 'api/messaging/attachments/' + id + '?token=' + encodeURIComponent(token);
  const deliveryLabel = (d) => ({ sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Not delivered' })[d] || d;

  function render(m) {
    let el = seen.get(m.id);
    if (!el) {
      el = document.createElement('div');
      el.className = 'msg ' + m.author + (m.rich ? ' rich' : '');
      el.dataset.seq = m.seq;
      el.dataset.conversation = m.conversation_id;
      const body = document.createElement('div');
      body.textContent = m.text;
      el.appendChild(body);
      if (m.rich) el.appendChild(richElement(m.rich, { onPostback: (payload, label) => send(label, [], { payload, label }) }));
      for (const a of m.attachments || []) {
        if (a.mime.startsWith('image/') && !/^https?:/.test(a.id)) {
          const img = document.createElement('img'); img.alt = a.name; img.src = attachmentUrl(a.id); el.appendChild(img);
        } else {
          const link = document.createElement('a'); link.textContent = '📄 ' + a.name;
          link.href = /^https?:/.test(a.id) ? a.id : attachmentUrl(a.id); link.target = '_blank'; link.rel = 'noopener';
          el.appendChild(link);
        }
      }
      const meta = document.createElement('div'); meta.className = 'meta'; el.appendChild(meta);
      log.appendChild(el);
      seen.set(m.id, el);
      if ((m.quick_replies || []).length) {
        log.querySelectorAll('.quick').forEach((q) => q.remove());
        const q = document.createElement('div'); q.className = 'quick'; q.setAttribute('role', 'group'); q.setAttribute('aria-label', 'Quick replies');
        for (const choice of m.quick_replies) {
          const b = document.createElement('button'); b.type = 'button'; b.textContent = choice;
          b.onclick = () => { q.remove(); send(choice); };
          q.appendChild(b);
        }
        log.appendChild(q);
      }
      if (m.author !== 'customer' && panel.hidden) { unread++; badge.textContent = unread; badge.hidden = false; }
    }
    el.querySelector('.meta').textContent = m.author === 'customer' ? deliveryLabel(m.delivery) : (m.author === 'bot' ? 'Assistant' : '');
    el.dataset.delivery = m.delivery;
    lastConversation = m.conversation_id;
    log.scrollTop = log.scrollHeight;
  }
  function markRead() {
    if (panel.hidden) return;
    const theirs = [...log.querySelectorAll('.msg:not(.customer)')].filter((e) => e.dataset.conversation === lastConversation);
    const seq = Math.max(0, ...theirs.map((e) => +e.dataset.seq));
    if (seq > 0) api('api/messaging/guest/read', { method: 'POST', json: { seq } }).catch(() => {});
  }
  async function checkOffers() {
    if (!lastConversation || !site) return;
    const r = await api('api/cobrowse/offers?conversation=' + encodeURIComponent(lastConversation) + '&site=' + encodeURIComponent(site)).catch(() => ({ offers: [] }));
    // A site that requires end-to-end encryption withdraws offers: co-browse there is by code.
    if (r.refused) status('Screen sharing from the chat is not available on this site: ' + r.refused + '.');
    for (const o of r.offers || []) {
      if (log.querySelector('[data-offer="' + o.offer_token + '"]')) continue;
      const box = document.createElement('div'); box.className = 'offer'; box.dataset.offer = o.offer_token;
      box.setAttribute('role', 'group'); box.setAttribute('aria-label', 'Screen sharing invitation');
      box.innerHTML = '<div>The agent invites you to share this page with them. They will see it, with private fields hidden.</div>';
      const accept = document.createElement('button'); accept.className = 'accept'; accept.type = 'button'; accept.textContent = 'Accept';
      const decline = document.createElement('button'); decline.type = 'button'; decline.textContent = 'Not now';
      accept.onclick = () => {
        box.remove();
        const C = window.Cobrowse;
        if (C && C.acceptOffer) C.acceptOffer(o.offer_token).catch((e) => status('Could not start sharing: ' + e.message));
      };
      decline.onclick = () => box.remove();
      box.append(' ', accept, ' ', decline);
      log.appendChild(box);
      log.scrollTop = log.scrollHeight;
      accept.focus();
    }
  }
  let calls = null;
  // The call module loads once the guest has a conversation (a call needs one).
  function loadCalls() {
    calls = calls || import('./widget-call.js').then((m) => {
      root.querySelector('style').textContent += m.CALL_CSS;
      return m.mountCalls({ root, log, api, base, token: () => token, status, open: () => setOpen(true) });
    });
    return calls;
  }
  function status(t) { const s = document.createElement('div'); s.className = 'msg system'; s.textContent = t; log.appendChild(s); }
  function connect() {
    if (stream) stream.close();
    stream = new EventSource(base + 'api/messaging/guest/stream?token=' + encodeURIComponent(token));
    stream.onmessage = (ev) => {
      const p = JSON.parse(ev.data);
      if (p.type === 'call') { loadCalls().then((c) => c.news(p)); return; }
      if (p.type === 'message') { render(p.message); markRead(); if (p.message.author === 'agent') checkOffers(); }
      else if (p.type === 'typing') typingEl.textContent = p.typing ? (p.author === 'bot' ? 'Assistant' : 'Agent') + ' is typing…' : '';
      else if (p.type === 'read' && p.reader === 'agent') {
        log.querySelectorAll('.msg.customer').forEach((e) => { if (+e.dataset.seq <= p.seq && e.dataset.conversation === p.conversation_id) { e.dataset.delivery = 'read'; e.querySelector('.meta').textContent = 'Read'; } });
      }
    };
    stream.addEventListener('resync', () => loadHistory());
  }
  async function loadHistory() {
    const h = await api('api/messaging/guest/history');
    for (const c of h.history) for (const m of c.messages) render(m);
    return h;
  }
  let started = false;
  async function start() {
    if (started) return;
    started = true;
    await ensureToken();
    const h = await loadHistory();
    if (h.contact_id) { connect(); loadCalls().then((c) => c.check()); }
    markRead();
    checkOffers();
  }
  // A postback ({payload, label}) answers a card's button; the relay stores the label as text.
  async function send(body, attachments = [], postback = undefined) {
    if (!body.trim() && !attachments.length) return;
    const hadContact = lastConversation !== null;
    try {
      const r = await api('api/messaging/guest/messages', { method: 'POST', json: { text: body, attachments, postback } });
      render(r.message);
      if (!hadContact || !stream) connect();
    } catch (e) {
      status(e.status === 429 ? 'You are sending messages too fast; please wait a moment.' : 'Not sent: ' + e.message);
      if (e.status === 429) text.value = text.value || body;
    }
  }
  function setOpen(open) {
    panel.hidden = !open;
    launch.setAttribute('aria-expanded', String(open));
    if (open) { unread = 0; badge.hidden = true; start().then(markRead); text.focus(); } else launch.focus();
  }
  launch.onclick = () => setOpen(panel.hidden);
  $('.close').onclick = () => setOpen(false);
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') setOpen(false); });
  $('form').onsubmit = (e) => { e.preventDefault(); const t = text.value; text.value = ''; setTyping(false); send(t); };
  text.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('form').requestSubmit(); } });
  function setTyping(on) {
    clearTimeout(typingTimer);
    if (on) typingTimer = setTimeout(() => setTyping(false), 3000);
    if (on === typingSent || !lastConversation) return;
    typingSent = on;
    api('api/messaging/guest/typing', { method: 'POST', json: { typing: on } }).catch(() => {});
  }
  text.addEventListener('input', () => setTyping(text.value.length > 0));
  $('.attach').onclick = () => file.click();
  file.onchange = async () => {
    const f = file.files[0]; file.value = '';
    if (!f) return;
    try {
      await ensureToken();
      // Files belong to a conversation: a first-time guest's file follows a first message
      // (what was typed, or the file's name).
      if (lastConversation === null) {
        const first = text.value.trim() || f.name;
        text.value = '';
        await send(first);
      }
      const a = await api('api/messaging/guest/attachments?name=' + encodeURIComponent(f.name), { method: 'POST', headers: { 'Content-Type': f.type || 'application/octet-stream' }, body: f });
      await send(text.value, [a.id]); text.value = '';
    } catch (e) { status('Attachment refused: ' + e.message); }
  };
  // A returning guest gets history (and unread badges) without opening the panel.
  try { if (localStorage.getItem(key)) start(); } catch (e) { /* no storage */ }
  return { open: () => setOpen(true), close: () => setOpen(false), send };
}
