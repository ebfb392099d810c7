// Messaging inbox: the agent's and waiting conversations (unread, channel, waiting time), the
// contact's full history with the timeline, composer (quick replies, attachments), typing and
// read state, "Invite to co-browse" (an offer the customer accepts in the widget), voice
// and video calls (inbox-call.js), and cards and carousels (inbox-rich.js).
import * as calls from './inbox-call.js';
import * as rich from './inbox-rich.js';

const $ = (id) => document.getElementById(id);
const api = async (path, body, method) => {
  const r = await fetch(path, {
    method: method || (body === undefined ? 'GET' : 'POST'), credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw Object.assign(new Error(body.error || r.statusText), { status: r.status, permission: body.permission });
  }
  return r.status === 204 ? null : r.json();
};
let me = null, current = null, view = null, typingTimer = 0, typingSent = false;
const channelIcon = (c) => (c === 'web' ? '🌐' : '💬');
const ago = (ms) => { const s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 60 ? s + ' s' : s < 3600 ? Math.round(s / 60) + ' min' : Math.round(s / 3600) + ' h'; };

function item(s) {
  const b = document.createElement('button');
  b.className = 'conv'; b.type = 'button'; b.setAttribute('role', 'listitem');
  b.dataset.id = s.conversation.id;
  if (current === s.conversation.id) b.setAttribute('aria-current', 'true');
  const chan = s.conversation.channel;
  b.innerHTML = `<span class="chan" title="${chan}" aria-label="channel ${chan}"></span><span class="who"><strong></strong><div class="last"></div></span>
    <span class="wait" title="waiting since the customer's last message"></span>${s.unread ? `<span class="unread" aria-label="${s.unread} unread">${s.unread}</span>` : ''}`;
  b.querySelector('.chan').textContent = channelIcon(chan);
  b.querySelector('strong').textContent = s.contact_name;
  b.querySelector('.last').textContent = s.last_text;
  b.querySelector('.wait').textContent = ago(s.conversation.last_customer_at);
  b.onclick = () => open(s.conversation.id);
  return b;
}
const holds = (role) => !!me && (me.roles || []).includes(role);
const list = (id, rows, empty) => $(id).replaceChildren(...(rows.length ? rows.map(item) : [Object.assign(document.createElement('p'), { className: 'empty', textContent: empty })]));
async function refresh() {
  // An agent's own and the waiting lists; a supervisor also sees every open conversation.
  const agent = holds('agent'), sup = holds('supervisor');
  const none = Promise.resolve([]);
  const [mine, waiting, all] = await Promise.all([
    agent ? api('/api/messaging/conversations') : none,
    agent ? api('/api/messaging/conversations?scope=waiting') : none,
    sup ? api('/api/messaging/conversations?scope=all') : none,
  ]);
  list('mine', mine, agent ? 'None yet.' : 'You hold no agent role.');
  list('waiting', waiting, agent ? 'Nobody waiting.' : 'You hold no agent role.');
  $('all-open').hidden = !sup;
  if (sup) list('all', all, 'No open conversations.');
}
function bubble(m) {
  const el = document.createElement('div');
  el.className = 'msg ' + m.author; el.dataset.id = m.id; el.dataset.seq = m.seq;
  const t = document.createElement('div'); t.textContent = m.text; el.appendChild(t);
  for (const a of m.attachments || []) {
    const url = /^https?:/.test(a.id) ? a.id : '/api/messaging/attachments/' + a.id;
    if (a.mime.startsWith('image/')) { const i = document.createElement('img'); i.src = url; i.alt = a.name; el.appendChild(i); }
    else { const l = document.createElement('a'); l.href = url; l.textContent = '📄 ' + a.name; l.target = '_blank'; el.appendChild(l); }
  }
  if (m.rich) { el.classList.add('rich'); el.appendChild(rich.richView(m.rich)); }
  if (m.postback) el.appendChild(rich.postbackNote(m.postback));
  if ((m.quick_replies || []).length) { const q = document.createElement('div'); q.className = 'meta'; q.textContent = 'Quick replies: ' + m.quick_replies.join(' · '); el.appendChild(q); }
  const meta = document.createElement('div'); meta.className = 'meta';
  meta.textContent = `${m.author} · ${new Date(m.created_at).toLocaleString()}` + (m.author !== 'customer' ? ` · ${m.delivery}` : '');
  el.appendChild(meta);
  return el;
}
function eventLine(e) {
  const el = document.createElement('div'); el.className = 'event';
  const d = e.detail || {};
  let extra = e.kind === 'bot_handoff' ? `: ${d.reason || ''} ${d.data && Object.keys(d.data).length ? JSON.stringify(d.data) : ''}` : '';
  // A call: its media, who ended it and why, and how long it lasted.
  if (e.kind.startsWith('call_')) {
    extra = ` (${d.media || ''})${d.by ? ` by the ${d.by}` : ''}${e.kind === 'call_ended' && d.reason ? `, ${d.reason.replace(/_/g, ' ')}` : ''}${typeof d.duration_ms === 'number' ? `, lasted ${calls.clock(d.duration_ms)}` : ''}`;
  }
  el.textContent = `${e.kind.replace(/_/g, ' ')}${extra} · ${new Date(e.created_at).toLocaleTimeString()}`;
  return el;
}
// A conversation the relay will not show this person (someone else's, for an agent) is
// refused in the page as it is by the API: nothing of it is shown, and the reason is.
function refused(err) {
  current = null; view = null;
  $('conv').hidden = true;
  const why = err.status === 403
    ? `You may not open this conversation: it is not yours${err.permission ? ` (${err.permission} missing)` : ''}.`
    : err.status === 404 ? 'No such conversation.' : `The conversation could not be opened: ${err.message}`;
  $('no-conv').textContent = why;
  $('no-conv').setAttribute('role', 'alert');
  $('no-conv').classList.add('refused');
  $('no-conv').hidden = false;
}
async function open(id) {
  if (id !== current) $('cobrowse-open').hidden = true;
  current = id;
  try { view = await api('/api/messaging/conversations/' + id); } catch (err) { refused(err); return; }
  if (location.hash !== `#conversation=${encodeURIComponent(id)}`) history.replaceState(null, '', `#conversation=${encodeURIComponent(id)}`);
  $('no-conv').hidden = true; $('no-conv').classList.remove('refused'); $('conv').hidden = false;
  $('contact').textContent = (view.contact && view.contact.display_name) || 'Contact';
  $('state').textContent = `${channelIcon(view.conversation.channel)} ${view.conversation.state}`;
  $('take').hidden = view.conversation.state !== 'waiting' || !holds('agent');
  // Someone else's conversation (a supervisor reading it): read only, the relay refuses the rest.
  const others = !!view.conversation.agent_id && view.conversation.agent_id !== me.id;
  for (const el of [$('compose'), $('wrap'), $('invite')]) el.hidden = others;
  calls.showFor(view, me);
  $('others').hidden = !others;
  if (others) $('others').textContent = `Handled by ${view.conversation.agent_id}: you are reading it.`;
  const log = $('log'); log.replaceChildren();
  for (const h of view.history) {
    log.appendChild(Object.assign(document.createElement('div'), { className: 'sep', textContent: `${h.conversation.channel} · ${new Date(h.conversation.created_at).toLocaleString()}${h.conversation.id === id ? ' (this conversation)' : ''}` }));
    const items = [...h.messages.map((m) => ({ at: m.created_at, el: bubble(m) })), ...h.events.map((e) => ({ at: e.created_at, el: eventLine(e) }))];
    items.sort((a, b) => a.at - b.at).forEach((i) => log.appendChild(i.el));
  }
  log.scrollTop = log.scrollHeight;
  markRead();
  refresh();
}
function markRead() {
  if (!view) return;
  const mine = view.history.find((h) => h.conversation.id === current);
  const seq = Math.max(0, ...mine.messages.filter((m) => m.author === 'customer').map((m) => m.seq));
  if (seq > view.conversation.agent_read_seq) api(`/api/messaging/conversations/${current}/read`, { seq }).then(refresh, () => {});
}
async function send(text, attachments = []) {
  const quick = $('quick').value.split(',').map((s) => s.trim()).filter(Boolean);
  await api(`/api/messaging/conversations/${current}/messages`, { text, quick_replies: quick, attachments });
  $('quick').value = '';
}
function setTyping(on) {
  clearTimeout(typingTimer);
  if (on) typingTimer = setTimeout(() => setTyping(false), 3000);
  if (on === typingSent || !current) return;
  typingSent = on;
  api(`/api/messaging/conversations/${current}/typing`, { typing: on }).catch(() => {});
}
function stream() {
  const es = new EventSource('/api/messaging/stream');
  es.onmessage = (ev) => {
    const p = JSON.parse(ev.data);
    if (p.type === 'call') { calls.news(p); return; }
    if (p.conversation_id === current || (view && p.contact_id === view.conversation.contact_id)) {
      if (p.type === 'typing' && p.author === 'customer') $('typing').textContent = p.typing ? 'Customer is typing…' : '';
      else if (p.type !== 'typing') open(current);
    } else refresh();
  };
  es.addEventListener('resync', refresh);
}
async function main() {
  const r = await fetch('/api/me', { credentials: 'same-origin' });
  if (!r.ok) { $('view-login').hidden = false; return; }
  me = await r.json();
  $('agent-name').textContent = me.name;
  $('view-inbox').hidden = false;
  await refresh();
  // A link to one conversation (inbox.html#conversation=ID) opens it, if this person may.
  const linked = /^#conversation=(.+)$/.exec(location.hash);
  if (linked) await open(decodeURIComponent(linked[1]));
  stream();
  setInterval(() => refresh().catch(() => {}), 15000);
}
$('login-form').onsubmit = async (e) => {
  e.preventDefault();
  try { await api('/api/login', { name: $('login-name').value, password: $('login-password').value }); $('view-login').hidden = true; window.dispatchEvent(new Event('console-signed-in')); main(); }
  catch (err) { $('login-error').textContent = err.message; $('login-error').hidden = false; }
};
$('compose').onsubmit = async (e) => {
  e.preventDefault();
  const t = $('text').value; if (!t.trim()) return;
  $('text').value = ''; setTyping(false);
  try { await send(t); } catch (err) { alert('Not sent: ' + err.message); $('text').value = t; }
};
$('text').addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('compose').requestSubmit(); } });
$('text').addEventListener('input', () => setTyping($('text').value.length > 0));
$('take').onclick = async () => { await api(`/api/messaging/conversations/${current}/assign`, {}); open(current); };
$('wrap').onclick = async () => { await api(`/api/messaging/conversations/${current}/wrap-up`, {}); open(current); };
$('attach').onclick = () => $('file').click();
$('file').onchange = async () => {
  const f = $('file').files[0]; $('file').value = ''; if (!f) return;
  const r = await fetch(`/api/messaging/conversations/${current}/attachments?name=${encodeURIComponent(f.name)}`, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': f.type || 'application/octet-stream' }, body: f });
  const a = await r.json();
  if (!r.ok) { alert(a.error); return; }
  await send($('text').value, [a.id]); $('text').value = '';
};
$('invite').onclick = async () => {
  // An offer bound to this conversation; the widget finds it and shows Accept.
  const offer = await api('/api/cobrowse/offers', { conversation_id: current, interaction: 'web_messaging' });
  await api(`/api/messaging/conversations/${current}/events`, { kind: 'cobrowse_offered', detail: { session_id: offer.session_id } });
  await send('I have sent you an invitation to share your screen with me. Press Accept to start.');
  $('state').textContent += ` · co-browse offer sent (session ${offer.session_id})`;
  // The console attaches its co-browse pane to this offer's session (index.html#session=ID).
  $('cobrowse-open').href = `index.html#session=${encodeURIComponent(offer.session_id)}`;
  $('cobrowse-open').hidden = false;
};
calls.setUp((path, body) => api(path, body), () => current);
rich.setUpComposer((body) => api(`/api/messaging/conversations/${current}/messages`, body), () => current);
main();
