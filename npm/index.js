/*! open-cobrowse: the customer's side of co-browse as an ES module, for sites that bundle
 * their scripts. The same library as the relay's <script src=".../cobrowse.js"> tag: nothing
 * is loaded or shown until a session starts (or resumes in this tab after a page load), and
 * every decision (masking, the control gate, encoding) is made in the WebAssembly module. */

let current = null;

function relayBase(relay) {
  const url = new URL(String(relay), typeof location === 'undefined' ? undefined : location.href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('open-cobrowse: relay must be an http(s) URL, got ' + url.protocol);
  }
  return url.href.replace(/[?#].*$/, '').replace(/\/?$/, '/');
}

/**
 * Connects this page to a relay for one site. One page holds one co-browse state: a second
 * call with the same relay and site returns the same object, another one throws.
 */
export function connect(options) {
  if (!options || typeof options.site !== 'string' || options.site === '') {
    throw new TypeError('open-cobrowse: connect({ relay, site }) needs a site key');
  }
  const base = relayBase(options.relay);
  const site = options.site;
  if (current) {
    if (current.base === base && current.site === site) return current;
    throw new Error('open-cobrowse: this page is already connected to ' + current.base + ' for ' + current.site);
  }
  const enc = encodeURIComponent(site);
  const listeners = {};
  let mod = null;
  let ready = null;
  const emit = (name, detail) => {
    (listeners[name] || []).slice().forEach((f) => {
      try { f(detail || {}); } catch (e) { setTimeout(() => { throw e; }); }
    });
  };
  const load = () => (mod = mod || import('./pkg/cobrowse.js').then((m) =>
    m.default({ module_or_path: new URL('./pkg/cobrowse_bg.wasm', import.meta.url) }).then(() => m)));
  const boot = () => (ready = ready || Promise.all([
    load(),
    fetch(base + 'api/cobrowse/sites/' + enc + '/config')
      .then((r) => (r.ok ? r.json() : {}), () => ({})),
  ]).then(([m, config]) => {
    m.initCustomer({ site, config, emit, wsUrl: base.replace(/^http/, 'ws') + 'ws/customer?site=' + enc });
    return m;
  }));
  const call = (name, arg) => boot().then((m) => m[name](arg));
  const start = (kind, value) => boot().then((m) => m.startSession(kind, String(value)));
  const api = {
    base,
    site,
    startWithKey: (key) => start('key', key),
    acceptOffer: (token) => start('offer', token),
    offer: (token) => call('offerPrompt', String(token)),
    enterCode: () => call('enterCode'),
    end: () => { if (ready) call('endSession'); },
    on(name, fn) { (listeners[name] = listeners[name] || []).push(fn); return api; },
    off(name, fn) { listeners[name] = (listeners[name] || []).filter((f) => f !== fn); return api; },
  };
  current = api;
  try {
    if (globalThis.sessionStorage && globalThis.sessionStorage.getItem('cobrowse:' + site)) call('resumeSession');
  } catch (e) { /* no storage: nothing to resume */ }
  return api;
}

/** The reasons an `end` event can carry, as `detail.reason`. */
export const END_REASONS = Object.freeze([
  'customer', 'agent', 'interaction-ended', 'interaction-transferred', 'inactivity', 'error',
  'key-exchange-failed',
]);

export default connect;
