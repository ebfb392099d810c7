// Observe: a supervisor picks a live co-browse session and watches it as a silent observer over
// /ws/observe. The mirror is the console's wasm `Mirror` joined with `observe()`; nothing here
// sends a pointer, a drawing or a control request (and the relay refuses them from an observer
// anyway). The customer's banner says how many people are viewing.
import init, { Mirror } from '/pkg/console/console.js';

const $ = (id) => document.getElementById(id);
let socket = null;
let mirror = null;
let viewport = { width: 1280, height: 800 };
// For tests and the curious.
window.observer = { signals: [], session: null };

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

function fail(text) {
  $('error').textContent = text;
  $('error').hidden = false;
}

async function loadSessions() {
  const r = await fetch('/api/cobrowse/sessions', { credentials: 'same-origin' });
  const data = await r.json().catch(() => null);
  if (!r.ok) { fail((data && data.error) || `The relay answered ${r.status}.`); return; }
  $('error').hidden = true;
  $('sessions-empty').hidden = data.length > 0;
  $('sessions').tBodies[0].replaceChildren(...data.map((s) => el('tr', { 'data-session': s.session_id },
    el('td', { class: 'mono' }, s.session_id.slice(0, 12)),
    el('td', {}, `${s.interaction} ${s.interaction_id || ''}`),
    el('td', { class: 'mono' }, s.agent_id.slice(0, 8)),
    el('td', {}, s.customer_connected ? 'connected' : 'not connected'),
    el('td', {}, s.mode),
    el('td', {}, String(s.observers)),
    el('td', {}, el('button', { class: 'small accent observe', type: 'button', onclick: () => watch(s.session_id) }, 'Observe')))));
}

function fit() {
  const box = $('view').getBoundingClientRect();
  const scale = Math.min(1, box.width / viewport.width, box.height / viewport.height);
  const frame = $('mirror');
  frame.style.width = `${viewport.width}px`;
  frame.style.height = `${viewport.height}px`;
  frame.style.transform = `scale(${scale})`;
}

function onSignal(s) {
  window.observer.signals.push(s.type);
  switch (s.type) {
    case 'reset':
      $('watch-url').textContent = s.url;
      viewport = { width: s.width, height: s.height };
      fit();
      $('watch-state').textContent = 'Live';
      break;
    case 'viewport': viewport = { width: s.width, height: s.height }; fit(); break;
    case 'presence': if (s.role === 'customer') $('watch-state').textContent = s.connected ? 'Live' : 'Customer disconnected'; break;
    case 'end': $('watch-state').textContent = 'The session ended.'; break;
    // The page is end-to-end encrypted for the agent's console only: an observer's keys need
    // the customer's consent, which this console cannot ask for yet.
    case 'sealed':
      $('watch-state').textContent = 'End-to-end encrypted: only the agent can see this page.';
      $('watch-state').dataset.sealed = 'true';
      break;
    default: break;
  }
}

function stop() {
  if (socket) socket.close();
  socket = null;
  mirror = null;
  window.observer.session = null;
  $('watch').hidden = true;
  loadSessions();
}

function watch(sessionId) {
  if (socket) socket.close();
  $('watch').hidden = false;
  $('watch-state').textContent = 'Connecting…';
  const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws/observe?session=${encodeURIComponent(sessionId)}`);
  ws.binaryType = 'arraybuffer';
  socket = ws;
  // Frames the mirror would send on its own (a resync request) go out; nothing else does.
  mirror = new Mirror($('mirror'), (bytes) => { if (ws.readyState === 1) ws.send(bytes); }, onSignal);
  window.observer.session = sessionId;
  window.observerMirror = mirror;
  ws.onopen = () => mirror.observe(sessionId);
  ws.onmessage = (e) => mirror && mirror.receive(new Uint8Array(e.data));
  ws.onclose = (e) => {
    if (socket !== ws) return;
    $('watch-state').textContent = e.reason ? `Closed: ${e.reason}` : 'The session ended or the connection closed.';
  };
  ws.onerror = () => { if (socket === ws) $('watch-state').textContent = 'Could not observe this session.'; };
}

$('refresh').addEventListener('click', loadSessions);
$('stop').addEventListener('click', stop);
new ResizeObserver(fit).observe($('view'));

async function start() {
  const me = await fetch('/api/me', { credentials: 'same-origin' });
  if (!me.ok) {
    $('view-login').hidden = false;
    $('login-name').focus();
    return;
  }
  const person = await me.json();
  $('agent-name').textContent = person.name;
  if (!(person.roles || []).includes('supervisor')) return; // nav.js explains the page is not theirs
  await init({ module_or_path: '/pkg/console/console_bg.wasm' });
  $('view-list').hidden = false;
  loadSessions();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('/api/login', {
    method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: $('login-name').value, password: $('login-password').value }),
  });
  if (!r.ok) {
    $('login-error').textContent = 'Wrong user name or password.';
    $('login-error').hidden = false;
    return;
  }
  location.reload();
});

start();
