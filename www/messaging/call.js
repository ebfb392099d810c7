/*! Calls from a conversation (ES module), shared by the inbox console and the messaging widget:
 * one RTCPeerConnection per call, signalled through the relay (the caller gives `send`), with
 * "perfect negotiation" so either side may renegotiate (the customer adds a screen), mute,
 * camera off (the sender stops sending, so the far side gets no frames), screen sharing, an
 * ICE restart when the connection fails, the figures of getStats for the call panel, and
 * the agent's laser pointer over a shared screen (an unordered data channel, peer to peer).
 * The media and the pointer go peer to peer; the relay sees only the signalling. */

/** Asks the browser for a microphone and, if `video`, a camera, falling back to what it has:
 * resolves to { stream, audio, video, problem } where `problem` says what was refused or
 * missing (the call goes on with the rest, receive-only at worst). */
export async function localMedia(video) {
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) return { stream: null, audio: false, video: false, problem: 'This browser cannot use a microphone or camera here; you can still hear and see the other side.' };
  const attempts = video ? [{ audio: true, video: true }, { audio: true }, { video: true }] : [{ audio: true }];
  let last = null;
  for (const constraints of attempts) {
    try {
      const stream = await md.getUserMedia(constraints);
      const got = { audio: stream.getAudioTracks().length > 0, video: stream.getVideoTracks().length > 0 };
      const missing = [video && !got.video ? 'camera' : null, !got.audio ? 'microphone' : null].filter(Boolean);
      return { stream, ...got, problem: missing.length ? `No ${missing.join(' or ')} could be used: ${explain(last)}` : null };
    } catch (e) { last = e; }
  }
  return { stream: null, audio: false, video: false, problem: `No microphone or camera could be used: ${explain(last)} You can still hear and see the other side.` };
}

function explain(e) {
  if (!e) return 'the browser did not say why.';
  if (e.name === 'NotAllowedError') return 'the browser was not allowed to use it.';
  if (e.name === 'NotFoundError') return 'this device has none.';
  if (e.name === 'NotReadableError') return 'another application is using it.';
  return (e.message || e.name) + '.';
}

export class CallPeer {
  /** `polite`: the side that yields when both offer at once (the customer). `send(signal)`
   * posts one signalling message; `on` has remote(track, kind), state(connectionState),
   * media(signal), failed() (the connection is gone for good), and pointer({x, y} in 0..1
   * of the shared screen, or {off: true}) on the customer's side. */
  constructor({ iceServers, polite, send, on }) {
    this.polite = polite;
    this.send = send;
    this.on = on;
    this.pc = new RTCPeerConnection({ iceServers: iceServers || [] });
    this.making = false;
    this.ignoring = false;
    this.senders = {};
    this.tracks = {};
    this.screen = null;
    this.ownMids = null;
    this.restarted = false;
    this.failTimer = 0;
    this.last = { at: 0, bytes: 0 };
    this.closed = false;
    this.pointer = null;
    const pc = this.pc;
    // The agent opens the pointer's channel in her first offer; the customer receives it.
    if (!polite) this.attachPointer(pc.createDataChannel('pointer', { ordered: false, maxRetransmits: 0 }));
    pc.ondatachannel = ({ channel }) => { if (polite && channel.label === 'pointer') this.attachPointer(channel); };
    pc.onicecandidate = ({ candidate: c }) => {
      this.post({ kind: 'candidate', candidate: c ? c.candidate : '', sdp_mid: c ? c.sdpMid : null, sdp_m_line_index: c ? c.sdpMLineIndex : null });
    };
    pc.ontrack = ({ track, transceiver }) => this.on.remote(track, this.kindOf(track, transceiver));
    pc.onnegotiationneeded = async () => {
      try {
        this.making = true;
        await pc.setLocalDescription();
        if (this.ownMids === null) this.ownMids = pc.getTransceivers().map((t) => t.mid);
        this.post({ kind: 'description', sdp_type: pc.localDescription.type, sdp: pc.localDescription.sdp });
      } catch (e) { console.warn('call: offer failed', e); } finally { this.making = false; }
    };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      this.on.state(s);
      clearTimeout(this.failTimer);
      clearTimeout(this.restartTimer);
      if (s === 'connected') { this.restarted = false; return; }
      if (s === 'failed' || s === 'disconnected') {
        // The network changed or went: one ICE restart (at once when it failed, after 2 s
        // still disconnected), then, 10 s later without a connection, the call is lost.
        const restart = () => {
          if (this.restarted || this.closed || pc.connectionState === 'connected') return;
          this.restarted = true;
          this.restarts = (this.restarts || 0) + 1;
          pc.restartIce();
        };
        if (s === 'failed') restart(); else this.restartTimer = setTimeout(restart, 2000);
        this.failTimer = setTimeout(() => { if (pc.connectionState !== 'connected' && !this.closed) this.on.failed(); }, 10000);
      }
    };
  }

  attachPointer(channel) {
    this.pointer = channel;
    channel.onmessage = (e) => {
      // The far side's words are untrusted: small JSON, two numbers within the frame, or off.
      if (typeof e.data !== 'string' || e.data.length > 100 || !this.on.pointer) return;
      let p;
      try { p = JSON.parse(e.data); } catch (err) { return; }
      if (p && p.off === true) { this.on.pointer({ off: true }); return; }
      const ok = (n) => typeof n === 'number' && n >= 0 && n <= 1;
      if (p && ok(p.x) && ok(p.y)) this.on.pointer({ x: p.x, y: p.y });
    };
  }

  /** The agent's laser at (x, y), fractions of the shared screen's frame, or off. */
  sendPointer(p) {
    if (!this.pointer || this.pointer.readyState !== 'open') return false;
    this.pointer.send(JSON.stringify(p.off ? { off: true } : { x: Math.round(p.x * 1e4) / 1e4, y: Math.round(p.y * 1e4) / 1e4 }));
    return true;
  }

  post(signal) { if (!this.closed) this.send(signal).catch((e) => console.warn('call: signal refused', e)); }

  /** Video on a transceiver of the first exchange is the camera; video on one a later
   * renegotiation added (the customer shares a screen) is the screen. */
  kindOf(track, transceiver) {
    if (track.kind === 'audio') return 'audio';
    if (this.ownMids === null || this.ownMids.includes(transceiver.mid)) return 'camera';
    this.screenTrackId = track.id;
    return 'screen';
  }

  /** Sends the tracks of `stream` (the microphone, the camera). */
  addLocal(stream) {
    if (!stream) return;
    for (const t of stream.getTracks()) { this.tracks[t.kind] = t; this.senders[t.kind] = this.pc.addTrack(t, stream); }
  }

  /** One signalling message from the other side; messages are handled one after another,
   * in the order they arrived (a candidate waits for the description before it). */
  receive(signal) {
    this.queue = (this.queue || Promise.resolve()).then(() => this.handle(signal)).catch((e) => console.warn('call: signal failed', e));
    return this.queue;
  }

  async handle(signal) {
    const pc = this.pc;
    if (signal.kind === 'description') {
      const collision = signal.sdp_type === 'offer' && (this.making || pc.signalingState !== 'stable');
      this.ignoring = !this.polite && collision;
      if (this.ignoring) return;
      await pc.setRemoteDescription({ type: signal.sdp_type, sdp: signal.sdp });
      if (signal.sdp_type === 'offer') {
        if (this.ownMids === null) this.ownMids = pc.getTransceivers().map((t) => t.mid);
        if (this.beforeAnswer) { this.beforeAnswer(); this.beforeAnswer = null; }
        await pc.setLocalDescription();
        this.post({ kind: 'description', sdp_type: pc.localDescription.type, sdp: pc.localDescription.sdp });
      }
    } else if (signal.kind === 'candidate') {
      try {
        await pc.addIceCandidate(signal.candidate ? { candidate: signal.candidate, sdpMid: signal.sdp_mid, sdpMLineIndex: signal.sdp_m_line_index } : null);
      } catch (e) { if (!this.ignoring) console.warn('call: candidate refused', e); }
    } else if (signal.kind === 'media' || signal.kind === 'screen_request') this.on.media(signal);
  }

  state() {
    const a = this.tracks.audio, v = this.tracks.video;
    return { kind: 'media', audio: !!a && a.enabled, video: !!v && this.senders.video && this.senders.video.track === v, screen: !!this.screen };
  }

  /** Mutes or unmutes the microphone (the far side hears silence, and is told). */
  setMuted(muted) {
    if (this.tracks.audio) this.tracks.audio.enabled = !muted;
    this.post(this.state());
  }

  /** Turns the camera off (nothing is sent: the far side receives no frames) or on. */
  async setCamera(on) {
    const sender = this.senders.video;
    if (sender) await sender.replaceTrack(on ? this.tracks.video : null);
    this.post(this.state());
  }

  /** Shares a screen, a window or a tab (the customer): a new video track, renegotiated. */
  shareScreen(stream) {
    const track = stream.getVideoTracks()[0];
    if (!track) return;
    this.screen = { track, sender: this.pc.addTrack(track, stream) };
    track.onended = () => this.stopScreen();
    this.post(this.state());
  }

  stopScreen() {
    if (!this.screen) return;
    const { track, sender } = this.screen;
    this.screen = null;
    track.onended = null;
    track.stop();
    try { this.pc.removeTrack(sender); } catch (e) { /* closed */ }
    this.post(this.state());
    // Also when the browser's own "Stop sharing" ended it: the page's controls follow.
    if (this.on.screenStopped) this.on.screenStopped();
  }

  /** The call's figures now: round trip (ms), packets lost, receive bitrate (kbit/s), the
   * remote audio's bytes, level and energy so far (flat while the far side is muted), and
   * decoded frames of the camera and of the screen. */
  async stats() {
    const out = { rtt: null, lost: 0, kbps: 0, audioBytes: 0, audioLevel: 0, audioEnergy: 0, frames: 0, screenFrames: 0 };
    if (this.closed) return out;
    const report = await this.pc.getStats();
    let bytes = 0;
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && s.currentRoundTripTime !== undefined) out.rtt = Math.round(s.currentRoundTripTime * 1000);
      if (s.type !== 'inbound-rtp') return;
      bytes += s.bytesReceived || 0;
      out.lost += s.packetsLost || 0;
      if (s.kind === 'audio') { out.audioBytes += s.bytesReceived || 0; out.audioLevel = Math.max(out.audioLevel, s.audioLevel || 0); out.audioEnergy += s.totalAudioEnergy || 0; }
      if (s.kind === 'video') {
        if (s.trackIdentifier && s.trackIdentifier === this.screenTrackId) out.screenFrames += s.framesDecoded || 0; else out.frames += s.framesDecoded || 0;
      }
    });
    const now = performance.now();
    if (this.last.at) out.kbps = Math.max(0, Math.round(((bytes - this.last.bytes) * 8) / (now - this.last.at)));
    this.last = { at: now, bytes };
    return out;
  }

  close() {
    this.closed = true;
    clearTimeout(this.failTimer);
    clearTimeout(this.restartTimer);
    this.stopScreen();
    for (const t of Object.values(this.tracks)) if (t && t.stop) t.stop();
    try { this.pc.close(); } catch (e) { /* already */ }
  }
}

/** "1:05" for 65 seconds. */
export const clock = (ms) => { const s = Math.max(0, Math.floor(ms / 1000)); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`; };
