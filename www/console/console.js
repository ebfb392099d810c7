// Agent console: sign-in, starting a session, the agent's WebSocket and the session bar. The
// mirror itself (decoding, checking, patching the iframe, encoding agent frames) is the wasm
// `Mirror` in /pkg/console/; the show-and-tell tools are in tools.js.
import init, { Mirror } from '/pkg/console/console.js';
import { Stage } from './stage.js';

const $ = (id) => document.getElementById(id);
const show = (id, on = true) => { $(id).hidden = !on; };
const api = (path, body) => fetch(path, {
  method: body === undefined ? 'GET' : 'POST',
  headers: body === undefined ? {} : { 'content-type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
  credentials: 'same-origin',
});

const MODE_TEXT = { 'read-only': 'Read-only', requested: 'Control requested…', granted: 'Control granted', ended: 'Ended', paused: 'Paused by the page' };
const REFUSAL_TEXT = {
  NotGranted: 'the customer has not granted control', ReadOnly: 'that element is read-only on this site',
  Masked: 'that field is private', UnknownNode: 'the element is gone', CrossSite: 'that address is on another site',
  FormReadOnly: 'only the customer can send that form', History: 'that page in the history may be on another site',
  OutsideScope: 'that is outside the area the customer granted', Expired: 'the time the customer granted ran out',
};
const GRANT_END_TEXT = {
  Expired: 'The time the customer granted ran out; control ended.', ScopeRemoved: 'The granted area left the page; control ended.',
  ScopeTooLarge: 'That area is too large to grant; pick a smaller one.', Declined: 'The customer declined.',
  Revoked: 'The customer took control back.',
};
const END_TEXT = {
  CustomerEnded: 'The customer ended the session.', AgentEnded: 'You ended the session.',
  InteractionEnded: 'The call or chat ended.', InteractionTransferred: 'The interaction was transferred.',
  Inactivity: 'The session ended after inactivity.', Error: 'The session ended after an error.',
  KeyExchangeFailed: 'The encryption check failed: the customer typed another code, or someone ' +
    'altered the connection. Nothing was shown. Start a new session and read the code again.',
};

/** The console's state, also read by tests through `window.consoleState`. */
const state = window.consoleState = {
  phase: 'boot', mode: 'read-only', customer: false, url: '', paused: false, signals: [], applied: 0,
};

let socket = null;
let mirror = null;
let stage = null;
let toastTimer = 0;

function toast(text) {
  $('toast').textContent = text;
  show('toast');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => show('toast', false), 4000);
}

function setView(name) {
  state.phase = name;
  for (const v of ['view-login', 'view-start', 'view-session']) show(v, v === `view-${name}`);
}

async function boot() {
  await init({ module_or_path: '/pkg/console/console_bg.wasm' });
  const me = await api('/api/me');
  if (me.ok) signedIn(await me.json()); else setView('login');
}

const SAVED = 'cobrowse-console-session';

function signedIn(agent) {
  $('agent-name').textContent = agent.display_name || agent.name || '';
  show('who');
  setView('start');
  // A reload mid-session rejoins it: the relay hands the latest snapshot and the changes since.
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(SAVED) || 'null'); } catch (e) { saved = null; }
  // Opened from the inbox's "Invite to co-browse" (index.html#session=ID): attach to that
  // offer's session; the customer accepts in the messaging widget, so there is no key to read.
  const invited = new URLSearchParams(location.hash.slice(1)).get('session');
  if (invited) {
    history.replaceState(null, '', location.pathname + location.search);
    if (!saved || saved.session_id !== invited) saved = { session_id: invited, offer: true };
  }
  if (saved && saved.session_id) startSession(saved, !saved.offer);
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  show('login-error', false);
  const r = await api('/api/login', { name: $('login-name').value, password: $('login-password').value });
  if (!r.ok) {
    $('login-error').textContent = r.status === 401 ? 'That user name and password do not match.' : `Sign-in failed (${r.status}).`;
    show('login-error');
    return;
  }
  window.dispatchEvent(new Event('console-signed-in'));
  signedIn((await r.json()).agent);
});

$('sign-out').addEventListener('click', async () => {
  await api('/api/logout', {});
  show('who', false);
  setView('login');
});

$('start').addEventListener('click', async () => {
  show('start-error', false);
  const interaction = $('interaction').value;
  // The relay issues the interaction's id (unguessable); its answer names it.
  const r = await api('/api/cobrowse/sessions', { interaction });
  if (!r.ok) {
    $('start-error').textContent = `Could not start a session (${r.status}).`;
    show('start-error');
    return;
  }
  startSession(await r.json());
});

function startSession(started, rejoin = false) {
  // The code flow is end-to-end encrypted: the console adds a secret it draws here to the
  // relay's locator, and the whole code goes to the customer by voice, never to the relay.
  if (!started.offer && !started.code) {
    started.code = Mirror.drawCode(started.security_key);
    if (!started.code) {
      $('start-error').textContent = 'The relay issued a key this console cannot use.';
      show('start-error');
      return;
    }
  }
  // An invitation accepted in a chat has no code: it is keyed by comparison (see renderSecure).
  Object.assign(state, { sessionId: started.session_id, key: started.security_key, code: started.code || null, compare: !!started.offer, safety: null, mode: 'read-only', customer: false, url: '', paused: false, rejoined: rejoin });
  try { sessionStorage.setItem(SAVED, JSON.stringify(started)); } catch (e) { /* no storage: no rejoin */ }
  setView('session');
  $('key').textContent = started.code || started.security_key_display || started.security_key;
  renderSecure();
  $('key-expiry').textContent = `Valid for ${Math.round(started.expires_in_secs / 60)} minutes, once.`;
  if (started.offer) $('key-expiry').textContent = 'Invitation sent: the customer accepts it in the chat.';
  show('waiting'); show('workspace', false); show('ended', false);
  setConnected('waiting');
  renderMode();
  connect(started.session_id);
}

function connect(sessionId) {
  const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws/agent`);
  ws.binaryType = 'arraybuffer';
  socket = ws;
  const frame = $('mirror');
  stage = stage || new Stage({ send: (fn) => mirror && fn(mirror), toast });
  stage.onArea = () => { state.mode = 'requested'; renderMode(); };
  mirror = new Mirror(frame, (bytes) => { if (ws.readyState === 1) ws.send(bytes); }, onSignal);
  if (state.code) mirror.secure(sessionId, state.code);
  else if (state.compare) mirror.secureByComparison(sessionId);
  window.consoleMirror = mirror; // for tests and the measurement hook
  stage.attach(mirror);
  ws.onopen = () => mirror.hello(sessionId);
  ws.onmessage = (e) => {
    mirror.receive(new Uint8Array(e.data));
    state.applied += 1;
    // Measurement hook (make bench-e2e): runs right after a frame is applied.
    if (window.afterMirrorApply) window.afterMirrorApply();
  };
  ws.onclose = (e) => {
    if (socket !== ws || state.phase !== 'session' || state.mode === 'ended') return;
    // The relay node this socket reached went away: stopped (1013, try again later), or died
    // (the load balancer drops the connection: 1006). Another node carries the console to
    // the session again, as a reload would; the session's control state is the relay's.
    if ([1001, 1006, 1013].includes(e.code) && reconnects < RECONNECTS) {
      reconnects += 1;
      setConnected('reconnecting');
      setTimeout(() => { if (socket === ws && state.mode !== 'ended') connect(sessionId); }, 300 * reconnects);
      return;
    }
    ended('The connection to the relay closed.');
  };
}

// How many times in a row the console reconnects a dropped socket before it gives up.
const RECONNECTS = 8;
let reconnects = 0;

// The session bar's encryption badge: keyed (with the safety code both sides show), keying,
// or not encrypted. An invitation accepted in a chat is keyed without a code, so only the two
// people comparing the safety code by voice can tell a relay in the middle: the badge says so.
function renderSecure() {
  const el = $('e2ee');
  const keying = state.code || state.compare;
  el.dataset.state = state.safety ? 'keyed' : keying ? 'keying' : 'clear';
  el.dataset.safety = state.safety || '';
  el.dataset.compare = state.compare ? 'phone' : '';
  el.textContent = state.safety ? `End-to-end encrypted · code ${state.safety}` +
      (state.compare ? ' · compare it with the customer by phone, not in the chat' : '')
    : keying ? 'Securing…' : 'Not end-to-end encrypted';
  el.title = state.safety && state.compare
    ? 'Accepted in the chat, so no code was read: ask the customer, on a phone or video call, to read the code on their banner. ' +
      'Do not compare it in the chat: whoever runs the chat could fake the answer there. Different codes: someone is in the middle; end the session.'
    : state.safety ? 'The relay cannot read this page. The customer\'s banner shows the same code: ask them to read it back.'
      : keying ? 'Waiting for the customer\'s page to complete the key exchange.'
        : 'The relay forwards this page without end-to-end encryption.';
}

function setConnected(kind) {
  const text = { waiting: 'Waiting for the customer', live: 'Customer connected', away: 'Customer disconnected', reconnecting: 'Reconnecting to the relay…' }[kind];
  $('state-text').textContent = text;
  $('dot').className = `dot ${kind === 'live' ? 'live' : kind === 'away' ? 'off' : ''}`;
}

function renderMode() {
  const shown = state.paused ? 'paused' : state.mode;
  $('mode').dataset.mode = shown;
  $('mode').textContent = MODE_TEXT[shown] || shown;
  const granted = state.mode === 'granted';
  $('tool-control').disabled = !granted;
  $('request-control').hidden = granted;
  $('request-control').disabled = state.mode === 'requested' || !state.customer;
  $('request-area').hidden = granted;
  $('request-area').disabled = state.mode === 'requested' || !state.customer;
  if (!granted) state.grantEnds = null;
  renderLeft();
  show('nav-form', granted);
  show('paused', state.paused);
  if (stage) stage.setGranted(granted);
}

// The countdown of a time-boxed grant, from the relay's time left when it said so.
function renderLeft() {
  const granted = state.mode === 'granted';
  const left = granted && state.grantEnds ? Math.max(0, Math.ceil((state.grantEnds - performance.now()) / 1000)) : null;
  const el = $('grant-left');
  el.hidden = left === null && !(granted && state.scoped);
  const clock = left === null ? '' : `${String(Math.floor(left / 60)).padStart(2, '0')}:${String(left % 60).padStart(2, '0')} left`;
  const text = [clock, granted && state.scoped ? 'area only' : ''].filter(Boolean).join(' · ');
  if (el.textContent !== text) el.textContent = text;
  el.dataset.left = left === null ? '' : String(left);
}
setInterval(renderLeft, 250);

function onSignal(s) {
  state.signals.push(s.type);
  switch (s.type) {
    case 'welcome': state.mode = s.mode; reconnects = 0; renderMode(); break;
    case 'presence':
      if (s.role !== 'customer') break;
      state.customer = s.connected;
      if (s.connected) { show('waiting', false); show('workspace'); setConnected('live'); } else if (state.url) setConnected('away');
      renderMode();
      break;
    case 'mode': state.mode = s.mode; renderMode(); if (s.mode === 'granted') toast('The customer granted control.'); break;
    case 'reset':
      state.url = s.url;
      $('customer-url').textContent = s.url; $('customer-url').title = s.url;
      show('waiting', false); show('workspace'); setConnected('live');
      stage.setViewport(s.width, s.height);
      break;
    case 'viewport': stage.setViewport(s.width, s.height); break;
    case 'navigated': state.url = s.url; $('customer-url').textContent = s.url; $('customer-url').title = s.url; break;
    case 'pointer': stage.customerPointer(s.x, s.y); break;
    case 'paused': state.paused = s.paused; renderMode(); break;
    case 'grant':
      state.scoped = s.mode === 'granted' && s.scope !== null;
      state.grantEnds = s.mode === 'granted' && s.remainingMs !== null ? performance.now() + s.remainingMs : null;
      state.grantReason = s.reason;
      if (s.mode === 'read-only' && GRANT_END_TEXT[s.reason]) toast(GRANT_END_TEXT[s.reason]);
      renderLeft();
      break;
    case 'refused': toast(`Not done: ${REFUSAL_TEXT[s.reason] || s.reason}.`); break;
    case 'synced': state.synced = (state.synced || 0) + 1; break;
    case 'encrypted': state.safety = s.safetyCode; renderSecure(); break;
    case 'sealed': toast('This page is end-to-end encrypted for the agent only.'); break;
    case 'end': state.mode = 'ended'; ended(END_TEXT[s.reason] || 'The session ended.'); break;
    case 'error': toast(s.message); break;
    default: break;
  }
}

function ended(reason) {
  state.mode = 'ended';
  try { sessionStorage.removeItem(SAVED); } catch (e) { /* nothing saved */ }
  $('end-reason').textContent = reason;
  show('waiting', false); show('workspace', false); show('ended');
  setConnected('away');
  $('state-text').textContent = 'Session ended';
  renderMode();
  if (socket) socket.close();
}

$('end').addEventListener('click', () => {
  if (mirror && socket && socket.readyState === 1) mirror.end();
  else if (state.sessionId) api(`/api/cobrowse/sessions/${state.sessionId}/end`, {});
});
$('again').addEventListener('click', () => {
  // The ended session's key and id are gone with it: nothing may read them as the next one's.
  Object.assign(state, { key: null, code: null, compare: false, safety: null, sessionId: null });
  setView('start');
});
$('request-control').addEventListener('click', () => {
  if (!mirror) return;
  mirror.requestControl();
  state.mode = 'requested';
  renderMode();
});
$('nav-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const url = $('nav-url').value.trim();
  if (mirror && url) mirror.navigate(new URL(url, state.url || location.href).href);
});

boot().catch((e) => { document.body.dataset.error = String(e); console.error(e); });
