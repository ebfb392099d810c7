/*! The messaging widget's calls (ES module, loaded by widget.js): the incoming-call prompt
 * (Accept with audio, Accept with video, Decline; it rings until the relay's timeout), the call
 * bar (the agent's video large, the own preview small, mute, camera on/off, screen sharing
 * when the agent asks, end, a timer), clear words when the browser refuses the microphone
 * or camera (the call goes on with what is available), and the agent's laser pointer: an
 * overlay on this page when the customer shares this very tab (known by its capture handle),
 * a line in the call bar when they share something else. */
import { CallPeer, localMedia, clock } from './call.js';

export const CALL_CSS = `
.ring { border: 1px solid #86efac; background: #f0fdf4; border-radius: 10px; padding: 8px 10px; }
.ring button, .callbar button { border: 1px solid #16a34a; color: #166534; background: #fff; border-radius: 999px; padding: 4px 10px; font: inherit; cursor: pointer; margin: 4px 4px 0 0; }
.ring button.accept { background: #16a34a; color: #fff; }
.ring button.decline, .callbar button.end { border-color: #dc2626; color: #fff; background: #dc2626; }
.callbar { border-bottom: 1px solid #e5e7eb; padding: 8px; background: #0b1220; color: #e5e7eb; font-size: 12px; }
.callbar[hidden] { display: none; }
.callbar .media { position: relative; display: flex; justify-content: center; }
.callbar video.remote { width: 100%; max-height: 180px; background: #000; border-radius: 6px; }
.callbar video.local { position: absolute; right: 6px; bottom: 6px; width: 28%; border: 2px solid #fff; border-radius: 4px; background: #000; }
.callbar button { border-color: #e5e7eb; color: #111827; }
.callbar .ask { background: #fef3c7; color: #78350f; border-radius: 6px; padding: 6px; margin-top: 6px; }
.laser { position: fixed; left: 0; top: 0; width: 18px; height: 18px; margin: -9px 0 0 -9px; border-radius: 50%; background: rgba(239, 68, 68, .9); box-shadow: 0 0 12px 4px rgba(239, 68, 68, .55); pointer-events: none; z-index: 2147483647; }
.laser[hidden] { display: none; }
`;

const REASONS = { hung_up: 'ended', declined: 'declined', no_answer: 'missed', left: 'ended: a page was closed', connection_lost: 'ended: the connection was lost', conversation_ended: 'ended with the conversation' };

/** `ui` has root (the shadow root), log, api(path, opts), base, token(), status(text), open(). */
export function mountCalls(ui) {
  const bar = document.createElement('div');
  bar.className = 'callbar'; bar.hidden = true; bar.setAttribute('role', 'region'); bar.setAttribute('aria-label', 'Call');
  bar.innerHTML = `<div class="media"><video class="remote" autoplay playsinline hidden></video><video class="local" autoplay playsinline muted hidden></video><audio class="audio" autoplay></audio></div>
    <div><span class="state" role="status" aria-live="polite"></span> <span class="timer"></span> <span class="far" aria-live="polite"></span> <span class="pointing" hidden>· The agent is pointing at what you share</span></div>
    <div><button type="button" class="mute" aria-pressed="false">Mute</button><button type="button" class="camera">Camera off</button><button type="button" class="share" hidden>Stop sharing</button><button type="button" class="end">End call</button></div>`;
  ui.root.querySelector('header').after(bar);
  // The agent's laser over this page (inside the widget's shadow root, so co-browse never
  // captures it and it never takes a click).
  const dot = Object.assign(document.createElement('div'), { className: 'laser', hidden: true });
  dot.setAttribute('aria-hidden', 'true');
  ui.root.appendChild(dot);
  let dotTimer = 0;
  const q = (s) => bar.querySelector(s);
  let call = null, ticker = 0;
  const path = (c, what) => `api/messaging/guest/call/${c.id}/${what}`;
  const say = (t) => { q('.state').textContent = t; };

  function ringing(c) {
    if (call) return;
    call = { id: c.id, offered: c.offered, peer: null, pending: [], muted: false };
    ui.open();
    const box = document.createElement('div');
    box.className = 'ring'; box.dataset.call = c.id; box.setAttribute('role', 'alertdialog'); box.setAttribute('aria-label', 'Incoming call');
    box.innerHTML = `<div>The agent is calling you (${c.offered === 'video' ? 'video' : 'voice'} call). <span class="left"></span></div>`;
    const audio = Object.assign(document.createElement('button'), { type: 'button', className: 'accept audio', textContent: 'Accept with audio' });
    const video = Object.assign(document.createElement('button'), { type: 'button', className: 'accept video', textContent: 'Accept with video' });
    const decline = Object.assign(document.createElement('button'), { type: 'button', className: 'decline', textContent: 'Decline' });
    audio.onclick = () => accept('audio');
    video.onclick = () => accept('video');
    decline.onclick = async () => { box.remove(); try { await ui.api(path(call, 'decline'), { method: 'POST' }); } catch (e) { /* over already */ } };
    box.append(audio, ' ');
    if (c.offered === 'video') box.append(video, ' ');
    box.append(decline);
    ui.log.appendChild(box);
    ui.log.scrollTop = ui.log.scrollHeight;
    audio.focus();
    const until = c.until;
    const count = () => { const el = box.querySelector('.left'); if (el) el.textContent = `Ringing · ${Math.max(0, Math.round((until - Date.now()) / 1000))} s`; };
    count();
    call.countdown = setInterval(count, 1000);
  }

  async function accept(answer) {
    const c = call;
    if (!c) return;
    clearInterval(c.countdown);
    ui.root.querySelectorAll('.ring').forEach((b) => b.remove());
    bar.hidden = false; bar.dataset.state = 'connecting';
    // For make bench-call: when the customer accepted, and when the first remote frame showed.
    bar.dataset.acceptedAt = Date.now(); delete bar.dataset.firstFrameAt;
    say('Connecting…');
    const local = await localMedia(answer === 'video');
    if (local.problem) ui.status(local.problem);
    let live;
    try { live = await ui.api(path(c, 'answer'), { method: 'POST', json: { answer: local.video ? 'video' : 'audio' } }); }
    catch (e) { local.stream && local.stream.getTracks().forEach((t) => t.stop()); teardown('hung_up'); ui.status('The call could not be answered: ' + e.message); return; }
    if (call !== c) { local.stream && local.stream.getTracks().forEach((t) => t.stop()); return; }
    c.peer = new CallPeer({
      iceServers: live.ice_servers, polite: true,
      send: (signal) => ui.api(path(c, 'signal'), { method: 'POST', json: signal }),
      on: {
        remote: (track, kind) => {
          if (kind === 'audio') { q('.audio').srcObject = new MediaStream([track]); return; }
          const v = q('.remote');
          v.onloadeddata = () => { bar.dataset.firstFrameAt = bar.dataset.firstFrameAt || Date.now(); };
          v.srcObject = new MediaStream([track]); v.hidden = false;
        },
        state: (s) => { bar.dataset.connection = s; if (s === 'connected' && !c.since) { c.since = Date.now(); bar.dataset.state = 'live'; say('In call'); } },
        media: (m) => far(m),
        failed: () => hangUp('connection_lost'),
        pointer: (p) => pointed(p),
        screenStopped: () => screenStopped(),
      },
    });
    c.peer.beforeAnswer = () => c.peer.addLocal(local.stream);
    if (local.stream) { q('.local').srcObject = local.stream; q('.local').hidden = !local.video; }
    q('.camera').hidden = !local.video;
    for (const s of c.pending.splice(0)) c.peer.receive(s);
    clearInterval(ticker);
    ticker = setInterval(tick, 1000);
  }

  function far(m) {
    if (m.kind === 'screen_request') return m.active ? askScreen() : bar.querySelectorAll('.ask').forEach((a) => a.remove());
    const bits = [m.audio ? null : 'muted', m.video ? null : 'camera off'].filter(Boolean);
    q('.far').textContent = bits.length ? '· Agent: ' + bits.join(', ') : '';
    bar.dataset.farAudio = m.audio ? 'on' : 'off';
  }

  /** The agent points at what is shared: over this page when it is this tab. */
  function pointed(p) {
    clearTimeout(dotTimer);
    const here = !p.off && !!call && !!call.screenSelf;
    dot.hidden = !here;
    q('.pointing').hidden = !!p.off || here;
    if (here) dot.style.transform = `translate(${Math.round(p.x * innerWidth)}px, ${Math.round(p.y * innerHeight)}px)`;
    bar.dataset.laser = p.off ? 'off' : here ? `${p.x},${p.y}` : 'elsewhere';
    if (!p.off) { bar.dataset.laserWhere = here ? 'here' : 'elsewhere'; bar.dataset.laserSeen = String(Number(bar.dataset.laserSeen || 0) + 1); }
    if (!p.off) dotTimer = setTimeout(() => { dot.hidden = true; q('.pointing').hidden = true; bar.dataset.laser = 'off'; }, 2000);
  }

  function askScreen() {
    if (!call || !call.peer || bar.querySelector('.ask')) return;
    const ask = document.createElement('div'); ask.className = 'ask'; ask.setAttribute('role', 'alertdialog');
    ask.textContent = 'The agent asks to see your screen, a window or a tab. ';
    const yes = Object.assign(document.createElement('button'), { type: 'button', className: 'share-yes', textContent: 'Choose what to share' });
    const no = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Not now' });
    yes.onclick = async () => {
      ask.remove();
      try {
        // A handle only this page knows: if the capture carries it, this very tab is shared,
        // and the agent's laser can be drawn over it.
        const handle = 'cobrowse-' + Math.random().toString(36).slice(2);
        try { navigator.mediaDevices.setCaptureHandleConfig({ handle, permittedOrigins: [location.origin] }); } catch (e) { /* not in this browser */ }
        const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false, selfBrowserSurface: 'include' });
        if (!call || !call.peer) { stream.getTracks().forEach((t) => t.stop()); return; }
        const track = stream.getVideoTracks()[0];
        const captured = track && track.getCaptureHandle ? track.getCaptureHandle() : null;
        call.screenSelf = !!captured && captured.handle === handle;
        bar.dataset.screenSurface = call.screenSelf ? 'this-tab' : ((track && track.getSettings().displaySurface) || 'unknown');
        call.peer.shareScreen(stream);
        bar.dataset.screen = 'on';
        q('.share').hidden = false;
      } catch (e) { ui.status('Nothing is shared: ' + (e.name === 'NotAllowedError' ? 'you chose not to share.' : e.message)); call && call.peer && call.peer.post(call.peer.state()); }
    };
    no.onclick = () => { ask.remove(); call && call.peer && call.peer.post(call.peer.state()); };
    ask.append(yes, ' ', no);
    bar.appendChild(ask);
    yes.focus();
  }

  q('.share').onclick = () => { if (call && call.peer) call.peer.stopScreen(); screenStopped(); };
  function screenStopped() {
    q('.share').hidden = true; bar.dataset.screen = 'off';
    if (call) call.screenSelf = false;
    dot.hidden = true; q('.pointing').hidden = true;
  }
  q('.mute').onclick = () => {
    if (!call || !call.peer) return;
    call.muted = !call.muted; call.peer.setMuted(call.muted);
    q('.mute').textContent = call.muted ? 'Unmute' : 'Mute'; q('.mute').setAttribute('aria-pressed', String(call.muted));
  };
  q('.camera').onclick = async () => {
    if (!call || !call.peer) return;
    const on = q('.camera').textContent === 'Camera on';
    await call.peer.setCamera(on);
    q('.camera').textContent = on ? 'Camera off' : 'Camera on'; q('.local').hidden = !on;
  };
  q('.end').onclick = () => hangUp('hung_up');
  addEventListener('pagehide', () => {
    if (call) navigator.sendBeacon(ui.base + path(call, 'end') + '?reason=left&token=' + encodeURIComponent(ui.token()));
  });

  async function tick() {
    if (!call || !call.peer) return;
    if (call.since) q('.timer').textContent = clock(Date.now() - call.since);
    const s = await call.peer.stats();
    Object.assign(bar.dataset, { audioBytes: s.audioBytes, audioLevel: s.audioLevel, audioEnergy: s.audioEnergy, frames: s.frames });
  }

  async function hangUp(reason) {
    if (!call) return;
    try { await ui.api(path(call, 'end') + '?reason=' + reason, { method: 'POST' }); } catch (e) { /* over already */ }
    teardown(reason);
  }

  function teardown(reason, duration) {
    if (!call) return;
    clearInterval(call.countdown);
    clearInterval(ticker);
    if (call.peer) call.peer.close();
    ui.root.querySelectorAll('.ring').forEach((b) => b.remove());
    for (const s of ['.remote', '.local', '.audio']) q(s).srcObject = null;
    bar.querySelectorAll('.ask').forEach((a) => a.remove());
    screenStopped();
    bar.hidden = true; bar.dataset.state = 'ended'; bar.dataset.reason = reason;
    ui.status(`Call ${REASONS[reason] || reason}${duration ? ` (${clock(duration)})` : ''}.`);
    call = null;
  }

  return {
    /** A push of type `call` from the guest's stream. */
    async news(p) {
      const n = p.news;
      if (n.event === 'ringing') return ringing({ id: n.call.id, offered: n.call.offered, until: n.call.until });
      if (!call || n.call_id !== call.id) return;
      if (n.event === 'signal') { if (call.peer) await call.peer.receive(n.signal); else call.pending.push(n.signal); }
      else if (n.event === 'ended') teardown(n.reason, n.duration_ms);
    },
    /** At load: a call that rings is shown; one that was live went with the old page. */
    async check() {
      const r = await ui.api('api/messaging/guest/call').catch(() => ({ call: null }));
      const c = r.call;
      if (!c) return;
      if (c.phase === 'ringing') ringing({ id: c.id, offered: c.offered, until: c.until });
      else ui.api(`api/messaging/guest/call/${c.id}/end?reason=left`, { method: 'POST' }).catch(() => {});
    },
  };
}
