/*! Co-browse loader stub: <script src=".../cobrowse.js" data-site="KEY" async>. Loads no wasm
 * until a session starts. API: Cobrowse.site, Cobrowse._load() -> Promise<wasm module>,
 * Cobrowse.startCapture(config, onFrame) -> Promise<Capture>. */
(function (w, d) {
  if (w.Cobrowse && w.Cobrowse._stub) return;
  var s = d.currentScript;
  var base = s && s.src ? s.src.replace(/[^/]*$/, '') : './';
  var mod;
  var C = (w.Cobrowse = {
    _stub: 1,
    site: (s && s.getAttribute('data-site')) || '',
    base: base,
    _load: function () {
      return (mod = mod || import(base + 'pkg/cobrowse.js').then(function (m) {
        return m.default({ module_or_path: base + 'pkg/cobrowse_bg.wasm' }).then(function () {
          return m;
        });
      }));
    },
    startCapture: function (config, onFrame) {
      return C._load().then(function (m) {
        return m.Capture.start(config || {}, onFrame);
      });
    },
  });
})(window, document);
