/*! Co-browse loader: <script src=".../cobrowse.js" data-site="KEY" async>. Shows nothing and
 * loads no wasm until a session starts (or resumes in this tab after a page load). API:
 * Cobrowse.startWithKey(key) / acceptOffer(token) -> Promise (resolves when paired and sharing),
 * offer(token) (Accept prompt first), enterCode(), end(), on(event, fn), off(event, fn);
 * events start, granted, revoked, paused, resumed, end (detail.reason). The logic is in wasm. */
(function (w, d) {
  if (w.Cobrowse && w.Cobrowse._stub) return;
  var s = d.currentScript;
  var base = s && s.src ? s.src.replace(/[^/]*$/, '') : './';
  var site = (s && s.getAttribute('data-site')) || '';
  var enc = encodeURIComponent(site);
  var mod, ready, ls = {};
  function emit(name, detail) {
    (ls[name] || []).slice().forEach(function (f) {
      try { f(detail || {}); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }
  function load() {
    return (mod = mod || import(base + 'pkg/cobrowse.js').then(function (m) {
      return m.default({ module_or_path: base + 'pkg/cobrowse_bg.wasm' }).then(function () { return m; });
    }));
  }
  function boot() {
    return (ready = ready || Promise.all([load(), fetch(base + 'api/cobrowse/sites/' + enc + '/config')
      .then(function (r) { return r.ok ? r.json() : {}; }, function () { return {}; })])
      .then(function (a) {
        a[0].initCustomer({ site: site, config: a[1], emit: emit,
          wsUrl: base.replace(/^http/, 'ws') + 'ws/customer?site=' + enc });
        return a[0];
      }));
  }
  function start(kind, v) { return boot().then(function (m) { return m.startSession(kind, String(v)); }); }
  function call(name, arg) { return boot().then(function (m) { return m[name](arg); }); }
  var C = (w.Cobrowse = {
    _stub: 1,
    site: site,
    base: base,
    _load: load,
    startCapture: function (config, onFrame) {
      return load().then(function (m) { return m.Capture.start(config || {}, onFrame); });
    },
    startWithKey: function (key) { return start('key', key); },
    acceptOffer: function (token) { return start('offer', token); },
    offer: function (token) { return call('offerPrompt', String(token)); },
    enterCode: function () { return call('enterCode'); },
    end: function () { if (ready) call('endSession'); },
    on: function (name, fn) { (ls[name] = ls[name] || []).push(fn); return C; },
    off: function (name, fn) { ls[name] = (ls[name] || []).filter(function (f) { return f !== fn; }); return C; },
  });
  try { if (w.sessionStorage.getItem('cobrowse:' + site)) call('resumeSession'); } catch (e) { /* no storage */ }
  /* Messaging widget (issue 8): with `data-messaging` on the tag, load www/messaging/widget.js. */
  if (s && s.hasAttribute('data-messaging')) import(base + 'messaging/widget.js')
    .then(function (m) { w.CobrowseMessaging = m.mount({ base: base, site: site }); });
})(window, document);
