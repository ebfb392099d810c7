// The scratch site's page, bundled by esbuild and loaded in headless Chromium by
// `make test-npm`: the package loads its wasm from the bundle, reads the site's rules from
// the relay and pairs over the relay's WebSocket. The key is not one the relay issued, so
// the relay's refusal is what proves the whole path; the page writes what it was told.
import { connect } from 'open-cobrowse';

const out = document.getElementById('out') as HTMLElement;
const cobrowse = connect({ relay: location.origin + '/', site: 'shop' });
cobrowse.startWithKey('000000000000').then(
  () => { out.textContent = 'paired (unexpected)'; },
  (e: Error) => { out.textContent = 'refused: ' + e.message; },
);
