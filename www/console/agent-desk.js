// Agent desk: presence, offers with a countdown, open work with park/transfer/end, the wrap-up
// dialog and the queue dashboard. The relay pushes the whole desk on /ws/desk after every change
// (and the real-time board as it moves); this page only renders what it is sent.

const $ = (id) => document.getElementById(id);
const api = (path, body, method = 'POST') => fetch(path, {
  method,
  credentials: 'same-origin',
  headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});

let desk = null;          // the latest desk the relay pushed
let clockOffset = 0;      // relay clock minus ours, so countdowns follow the relay
let transferFor = null;   // the interaction the transfer dialog is for
let wrapFor = null;       // the interaction the wrap-up dialog is for
let socket = null;
let callsByQueue = {};    // queue name -> calls_from_chat, for the call links of routed chats
let queuesAt = 0;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function showError(message) {
  const e = $('desk-error');
  e.textContent = message || '';
  e.hidden = !message;
}

async function act(id, action, body) {
  const r = await api(`/api/routing/interactions/${encodeURIComponent(id)}/${action}`, body || {});
  if (!r.ok) {
    const j = await r.json().catch(() => ({}));
    showError(j.error || `${action} failed (${r.status})`);
    return;
  }
  showError('');
  render(await r.json());
}

function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

function offerCard(w) {
  const left = el('span', { class: 'countdown', 'data-expires': String(w.expires_at_ms) });
  return el('div', { class: 'item offered', 'data-id': w.interaction },
    el('div', { class: 'what' },
      el('span', { class: 'media' }, w.media), ' · ', w.queue,
      w.offer_reason !== 'queue' ? el('span', { class: 'muted small' }, ` (${w.offer_reason.replace('_', ' ')})`) : ''),
    left,
    el('button', { class: 'accent accept', onclick: () => act(w.interaction, 'accept') }, 'Accept'),
    el('button', { class: 'decline', onclick: () => act(w.interaction, 'decline') }, 'Decline'));
}

/** What each queue offers as calls from its chats, read at most every 30 s. */
async function loadCallSettings() {
  if (Date.now() - queuesAt < 30000) return;
  queuesAt = Date.now();
  const r = await api('/api/routing/queues', undefined, 'GET').catch(() => null);
  if (!r || !r.ok) return;
  callsByQueue = Object.fromEntries((await r.json()).map((q) => [q.queue.name, q.queue.calls_from_chat || 'voice_and_video']));
  if (desk) render(desk);
}

/** A routed chat opens in the inbox, and rings from there with the kinds its queue offers. */
function chatLinks(w) {
  const to = (query) => el('a', { class: 'button', target: 'inbox', href: `inbox.html${query}#conversation=${encodeURIComponent(w.interaction)}` });
  const links = [Object.assign(to(''), { textContent: 'Open' })];
  // The call links wait for the queue's setting, so a voice-only queue never shows video.
  const offers = callsByQueue[w.queue];
  if (offers && offers !== 'none') links.push(Object.assign(to('?call=voice'), { textContent: 'Voice call' }));
  if (offers === 'voice_and_video') links.push(Object.assign(to('?call=video'), { textContent: 'Video call' }));
  return links;
}

function workCard(w) {
  const buttons = [];
  if (w.state === 'connected' && w.media === 'message') buttons.push(...chatLinks(w));
  if (w.state === 'connected') {
    buttons.push(el('button', { onclick: () => act(w.interaction, 'park') }, 'Park'));
    buttons.push(el('button', { onclick: () => openTransfer(w.interaction) }, 'Transfer'));
    buttons.push(el('button', { class: 'danger end', onclick: () => act(w.interaction, 'end') }, 'End'));
  } else if (w.state === 'parked' && w.parked_by === 'agent') {
    buttons.push(el('button', { onclick: () => act(w.interaction, 'unpark') }, 'Resume'));
  }
  const note = w.state === 'parked'
    ? (w.parked_by === 'agent' ? 'parked' : `on hold during ${w.parked_by}`)
    : w.state.replace('_', '-');
  return el('div', { class: `item ${w.state}`, 'data-id': w.interaction, 'data-state': w.state },
    el('div', { class: 'what' }, el('span', { class: 'media' }, w.media), ' · ', w.queue, ' · ',
      el('span', { class: 'muted' }, note), el('div', { class: 'muted small' }, w.interaction)),
    ...buttons);
}

function render(view) {
  desk = view;
  if (view.work.some((w) => w.media === 'message')) loadCallSettings();
  clockOffset = view.now_ms - Date.now();
  $('presence').value = view.presence;
  const status = $('status');
  status.textContent = view.status.replace('_', '-');
  status.className = `status ${view.status}`;
  const offers = view.work.filter((w) => w.state === 'offered');
  const work = view.work.filter((w) => w.state !== 'offered');
  $('offers').replaceChildren(...(offers.length ? offers.map(offerCard) : [el('p', { class: 'empty' }, 'No offers.')]));
  $('work').replaceChildren(...(work.length ? work.map(workCard) : [el('p', { class: 'empty' }, 'Nothing open.')]));
  const wrapping = work.find((w) => w.state === 'wrap_up');
  if (wrapping && wrapFor !== wrapping.interaction) openWrapUp(wrapping);
  if (!wrapping) {
    wrapFor = null;
    if ($('wrapup-dialog').open) $('wrapup-dialog').close();
  }
  tick();
}

function tick() {
  const now = Date.now() + clockOffset;
  for (const c of document.querySelectorAll('.countdown')) {
    const left = Number(c.dataset.expires) - now;
    c.textContent = `${Math.max(0, Math.ceil(left / 1000))} s`;
    c.classList.toggle('low', left < 5000);
  }
  if (desk) $('status-time').textContent = `for ${duration(now - desk.status_since_ms)}`;
}

function openWrapUp(w) {
  wrapFor = w.interaction;
  $('wrapup-what').textContent = `${w.media} ${w.interaction} in ${w.queue}`;
  const codes = w.wrap_up_codes.length ? w.wrap_up_codes : ['done'];
  $('wrapup-code').replaceChildren(...codes.map((c) => el('option', { value: c }, c)));
  $('wrapup-deadline').textContent = w.wrap_up_deadline_ms ? 'Wrap-up ends by itself when its time is up.' : '';
  if (!$('wrapup-dialog').open) $('wrapup-dialog').showModal();
}

async function openTransfer(id) {
  transferFor = id;
  const r = await api('/api/routing/queues', undefined, 'GET');
  const queues = r.ok ? await r.json() : [];
  $('transfer-queue').replaceChildren(el('option', { value: '' }, '—'),
    ...queues.map((q) => el('option', { value: q.queue.name }, q.queue.name)));
  $('transfer-agent').value = '';
  $('transfer-dialog').showModal();
}

function renderBoard(board) {
  const rows = board.queues.map((q) => el('tr', { 'data-queue': q.name },
    el('td', {}, q.name), el('td', { class: 'n' }, String(q.waiting)),
    el('td', { class: 'n' }, q.waiting ? duration(q.longest_wait_ms) : '—'),
    el('td', { class: 'n' }, String(q.agents_available)), el('td', { class: 'n' }, String(q.agents_busy)),
    el('td', { class: 'n' }, String(q.offered_today)), el('td', { class: 'n' }, String(q.answered_today))));
  $('queues').tBodies[0].replaceChildren(...rows);
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  socket = new WebSocket(`${proto}://${location.host}/ws/desk`);
  socket.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === 'desk') render(msg);
    else if (msg.type === 'realtime') renderBoard(msg);
  };
  socket.onclose = () => setTimeout(connect, 1000);
}

async function start() {
  const me = await fetch('/api/me', { credentials: 'same-origin' });
  if (!me.ok) {
    $('view-login').hidden = false;
    return;
  }
  const agent = await me.json();
  $('agent-name').textContent = agent.name;
  $('view-login').hidden = true;
  $('view-desk').hidden = false;
  const r = await api('/api/routing/desk', undefined, 'GET');
  if (r.ok) render(await r.json());
  const b = await api('/api/routing/realtime', undefined, 'GET');
  if (b.ok) renderBoard(await b.json());
  connect();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await api('/api/login', { name: $('login-name').value, password: $('login-password').value });
  if (!r.ok) {
    $('login-error').textContent = 'Wrong user name or password.';
    $('login-error').hidden = false;
    return;
  }
  window.dispatchEvent(new Event('console-signed-in'));
  start();
});

$('presence').addEventListener('change', async () => {
  const r = await api('/api/routing/presence', { presence: $('presence').value });
  if (r.ok) { showError(''); render(await r.json()); } else showError('Could not change presence.');
});

$('wrapup-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const id = wrapFor;
  $('wrapup-dialog').close();
  if (id) act(id, 'wrap-up', { code: $('wrapup-code').value });
});

$('transfer-form').addEventListener('submit', (e) => {
  const go = e.submitter && e.submitter.value === 'go';
  if (!go || !transferFor) return;
  const queue = $('transfer-queue').value;
  const agent = $('transfer-agent').value.trim();
  act(transferFor, 'transfer', agent ? { agent } : { queue });
});

setInterval(tick, 250);
start();
