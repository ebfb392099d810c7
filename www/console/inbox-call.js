// The inbox's call panel: "Voice call" and "Video call" ring the conversation's customer;
// while the call lasts the remote video is large and the local preview small, with mute,
// camera on/off, "Ask to share screen", end, a timer and the connection's quality from
// getStats; over the customer's shared screen the agent's pointer is a laser, drawn here
// and sent to the customer peer to peer. Signalling goes through the relay
// (../messaging/call.js holds the WebRTC side).
import { CallPeer, localMedia, clock } from '../messaging/call.js';

export { clock };

const $ = (id) => document.getElementById(id);
let api = null, current = () => null, call = null, ticker = 0;
const REASONS = { hung_up: 'ended', declined: 'declined', no_answer: 'not answered', left: 'ended: the page was closed', connection_lost: 'ended: the connection was lost', conversation_ended: 'ended with the conversation' };

/** Wires the panel once; `request(path, body)` is the inbox's signed-in POST, `open()` the
 * conversation on screen. */
export function setUp(request, open) {
  api = request;
  current = open;
  $('call-voice').onclick = () => ring('voice');
  $('call-video').onclick = () => ring('video');
  $('call-end').onclick = () => hangUp('hung_up');
  $('call-mute').onclick = () => {
    if (!call || !call.peer) return;
    call.muted = !call.muted;
    call.peer.setMuted(call.muted);
    $('call-mute').textContent = call.muted ? 'Unmute' : 'Mute';
    $('call-mute').setAttribute('aria-pressed', String(call.muted));
  };
  $('call-camera').onclick = async () => {
    if (!call || !call.peer) return;
    call.camera = !call.camera;
    await call.peer.setCamera(call.camera);
    $('call-camera').textContent = call.camera ? 'Camera off' : 'Camera on';
    $('call-local').hidden = !call.camera;
  };
  $('call-share').onclick = () => {
    if (!call || !call.peer) return;
    call.asking = !call.asking;
    call.peer.post({ kind: 'screen_request', active: call.asking });
    $('call-share').textContent = call.asking ? 'Stop asking for the screen' : 'Ask to share screen';
    if (call.asking) status('Asked the customer to share a screen…');
  };
  laser();
  // A closed or reloaded console ends its call, with the reason.
  addEventListener('pagehide', () => {
    if (call) navigator.sendBeacon(`${base(call)}/end?reason=left`);
  });
}

/** Where the pointer is over the video's picture, as fractions of its frame (the picture
 * may be letterboxed in the element), or null when outside it. */
function framePoint(video, e) {
  const r = video.getBoundingClientRect();
  const vw = video.videoWidth, vh = video.videoHeight;
  if (!vw || !vh || !r.width || !r.height) return null;
  const scale = Math.min(r.width / vw, r.height / vh);
  const w = vw * scale, h = vh * scale;
  const x = (e.clientX - (r.left + (r.width - w) / 2)) / w, y = (e.clientY - (r.top + (r.height - h) / 2)) / h;
  return x >= 0 && x <= 1 && y >= 0 && y <= 1 ? { x, y } : null;
}

/** The laser pointer over the shared screen: a red dot with a short fading trail drawn over
 * the video, and the same point sent to the customer at most every 33 ms (the last one
 * always). */
function laser() {
  const screen = $('call-screen');
  const canvas = Object.assign(document.createElement('canvas'), { id: 'call-laser' });
  canvas.setAttribute('aria-hidden', 'true');
  Object.assign(canvas.style, { position: 'absolute', pointerEvents: 'none', display: 'none' });
  screen.after(canvas);
  screen.style.cursor = 'crosshair';
  screen.title = 'Point at the customer\'s screen: they see your laser when they share this tab';
  let trail = [], sentAt = 0, later = 0, drawing = 0;
  const send = (p) => {
    clearTimeout(later);
    const wait = 33 - (performance.now() - sentAt);
    if (wait > 0 && !p.off) { later = setTimeout(() => send(p), wait); return; }
    sentAt = performance.now();
    if (call && call.peer && call.peer.sendPointer(p)) {
      const d = $('call-panel').dataset;
      d.laserSent = String(Number(d.laserSent || 0) + 1);
    }
  };
  const draw = () => {
    drawing = 0;
    const now = performance.now();
    trail = trail.filter((t) => now - t.at < 500);
    const show = trail.length > 0 && !screen.hidden;
    canvas.style.display = show ? 'block' : 'none';
    $('call-panel').dataset.laser = show ? 'on' : 'off';
    if (!show) return;
    $('call-panel').dataset.laserDraws = String(Number($('call-panel').dataset.laserDraws || 0) + 1);
    Object.assign(canvas.style, { left: screen.offsetLeft + 'px', top: screen.offsetTop + 'px', width: screen.clientWidth + 'px', height: screen.clientHeight + 'px' });
    canvas.width = screen.clientWidth; canvas.height = screen.clientHeight;
    const g = canvas.getContext('2d');
    trail.forEach((t, i) => {
      const last = i === trail.length - 1;
      g.globalAlpha = last ? 1 : Math.max(0, 1 - (now - t.at) / 500) * 0.6;
      g.fillStyle = '#ef4444';
      g.beginPath(); g.arc(t.px, t.py, last ? 7 : 4, 0, Math.PI * 2); g.fill();
    });
    drawing = requestAnimationFrame(draw);
  };
  screen.addEventListener('pointermove', (e) => {
    if (!call || !call.peer) return;
    const p = framePoint(screen, e);
    if (!p) return;
    const r = screen.getBoundingClientRect();
    trail.push({ px: e.clientX - r.left, py: e.clientY - r.top, at: performance.now() });
    if (trail.length > 40) trail.shift();
    if (!drawing) drawing = requestAnimationFrame(draw);
    send(p);
  });
  screen.addEventListener('pointerleave', () => { trail = []; send({ off: true }); });
}

const base = (c) => `/api/messaging/conversations/${c.conversation}/call/${c.id}`;

/** Shows the call buttons where this agent may ring: her own assigned conversation, and
 * only the kinds its queue offers (voice and video, voice only, or none). A desk link
 * (inbox.html?call=voice#conversation=ID) rings once the conversation is open. */
export async function showFor(view, me) {
  const mine = !!view && view.conversation.agent_id === me.id && view.conversation.state === 'assigned';
  const busy = !!call;
  let media = [];
  if (mine) {
    try { media = (await api(`/api/messaging/conversations/${view.conversation.id}/call`)).media; } catch (e) { media = []; }
  }
  if (!view || current() !== view.conversation.id) return;
  $('call-voice').hidden = !media.includes('voice');
  $('call-video').hidden = !media.includes('video');
  for (const id of ['call-voice', 'call-video']) $(id).disabled = busy;
  const asked = new URLSearchParams(location.search).get('call');
  if (asked) {
    const url = new URL(location.href);
    url.searchParams.delete('call');
    history.replaceState(null, '', url);
    if (media.includes(asked) && !busy) ring(asked);
    else if (mine && !busy) refusedHere(asked === 'video' && media.includes('voice') ? 'This queue offers voice calls only.' : 'This queue offers no calls.');
  }
}

/** Says in the panel, for a few seconds, why the desk's call did not ring. */
function refusedHere(text) {
  const panel = $('call-panel');
  panel.hidden = false;
  panel.dataset.state = 'refused';
  for (const id of ['call-mute', 'call-camera', 'call-share', 'call-end']) $(id).disabled = true;
  status(text);
  setTimeout(() => { if (!call) { panel.hidden = true; $('call-end').disabled = false; } }, 4000);
}

function status(text) { $('call-status').textContent = text; }

async function ring(media) {
  const conversation = current();
  if (!conversation || call) return;
  let started;
  try { started = await api(`/api/messaging/conversations/${conversation}/call`, { media }); }
  catch (e) { alert('The call could not start: ' + e.message); return; }
  call = { id: started.call.id, conversation, offered: media, ice: started.ice_servers, peer: null, muted: false, camera: media === 'video', pending: [] };
  $('call-panel').hidden = false;
  $('call-panel').dataset.state = 'ringing';
  delete $('call-panel').dataset.firstFrameAt;
  $('call-panel').dataset.offered = media;
  $('call-camera').hidden = media !== 'video';
  for (const id of ['call-mute', 'call-camera', 'call-share']) $(id).disabled = true;
  // A redial within the ended panel's four seconds must still be able to hang up.
  $('call-end').disabled = false;
  status(`Ringing the customer (${media})…`);
  $('call-timer').textContent = '';
  for (const id of ['call-voice', 'call-video']) $(id).disabled = true;
}

async function accepted(answer) {
  status(`Connecting (${answer})…`);
  $('call-panel').dataset.state = 'connecting';
  const local = await localMedia(call.offered === 'video');
  if (!call) { if (local.stream) local.stream.getTracks().forEach((t) => t.stop()); return; }
  if (local.problem) status(local.problem);
  const c = call;
  c.peer = new CallPeer({
    iceServers: c.ice, polite: false,
    send: (signal) => api(`${base(c)}/signal`, signal),
    on: {
      remote: (track, kind) => show(track, kind),
      state: (s) => {
        $('call-panel').dataset.connection = s;
        if (s === 'connected' && !c.since) { c.since = Date.now(); $('call-panel').dataset.state = 'live'; status(`In call (${answer})`); }
      },
      media: (m) => far(m),
      failed: () => hangUp('connection_lost'),
    },
  });
  if (local.stream) { $('call-local').srcObject = local.stream; $('call-local').hidden = !local.video; }
  c.peer.addLocal(local.stream);
  c.camera = local.video;
  $('call-camera').textContent = 'Camera off';
  for (const id of ['call-mute', 'call-camera', 'call-share']) $(id).disabled = false;
  for (const s of c.pending.splice(0)) c.peer.receive(s);
  clearInterval(ticker);
  ticker = setInterval(tick, 1000);
}

function show(track, kind) {
  if (kind === 'audio') { $('call-audio').srcObject = new MediaStream([track]); return; }
  const el = kind === 'screen' ? $('call-screen') : $('call-remote');
  // For make bench-call: when the first frame of the customer's camera showed.
  if (kind === 'camera') el.onloadeddata = () => { const d = $('call-panel').dataset; d.firstFrameAt = d.firstFrameAt || Date.now(); };
  el.srcObject = new MediaStream([track]);
  el.hidden = false;
  if (kind === 'screen') { $('call-panel').dataset.screen = 'on'; track.onended = track.onmute = () => { el.hidden = true; $('call-panel').dataset.screen = 'off'; }; track.onunmute = () => { el.hidden = false; $('call-panel').dataset.screen = 'on'; }; }
}

/** What the customer sends now: "muted", "camera off", "sharing the screen". */
function far(m) {
  if (m.kind !== 'media') return;
  const bits = [m.audio ? null : 'muted', m.video ? null : 'camera off', m.screen ? 'sharing the screen' : null].filter(Boolean);
  $('call-far').textContent = bits.length ? 'Customer: ' + bits.join(', ') : '';
  $('call-panel').dataset.farAudio = m.audio ? 'on' : 'off';
  $('call-panel').dataset.farScreen = m.screen ? 'on' : 'off';
  if (!m.screen) { $('call-screen').hidden = true; }
  if (m.screen && call && call.asking) { call.asking = false; $('call-share').textContent = 'Ask to share screen'; status('In call · the customer shares a screen'); }
}

async function tick() {
  if (!call || !call.peer) return;
  if (call.since) $('call-timer').textContent = clock(Date.now() - call.since);
  const s = await call.peer.stats();
  const panel = $('call-panel');
  Object.assign(panel.dataset, { audioBytes: s.audioBytes, audioLevel: s.audioLevel, audioEnergy: s.audioEnergy, frames: s.frames, screenFrames: s.screenFrames });
  $('call-quality').textContent = `${s.rtt === null ? '–' : s.rtt + ' ms'} round trip · ${s.lost} lost · ${s.kbps} kbit/s`;
}

async function hangUp(reason) {
  if (!call) return;
  const c = call;
  try { await api(`${base(c)}/end?reason=${reason}`, {}); } catch (e) { /* already over: the news says why */ }
  teardown(reason, null);
}

function teardown(reason, by, duration) {
  if (!call) return;
  if (call.peer) call.peer.close();
  clearInterval(ticker);
  const took = duration ? ` after ${clock(duration)}` : '';
  const who = by === 'customer' ? ' by the customer' : by === 'agent' ? ' by you' : '';
  status(`Call ${REASONS[reason] || reason}${who}${took}.`);
  const panel = $('call-panel');
  panel.dataset.state = 'ended';
  panel.dataset.reason = reason;
  for (const id of ['call-remote', 'call-screen', 'call-local', 'call-audio']) { $(id).srcObject = null; }
  for (const id of ['call-mute', 'call-camera', 'call-share', 'call-end']) $(id).disabled = true;
  call = null;
  for (const id of ['call-voice', 'call-video']) $(id).disabled = false;
  setTimeout(() => { if (!call) { panel.hidden = true; $('call-end').disabled = false; } }, 4000);
}

/** A push of type `call` from the agent's stream. */
export async function news(p) {
  const n = p.news;
  if (!call || (n.call_id && n.call_id !== call.id)) return;
  if (n.event === 'accepted') await accepted(n.answer);
  else if (n.event === 'signal') { if (call.peer) await call.peer.receive(n.signal); else call.pending.push(n.signal); }
  else if (n.event === 'ended') teardown(n.reason, n.by, n.duration_ms);
}
