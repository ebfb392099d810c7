// Where capture's time goes, for issue work on `make bench-capture` (not run by CI).
//   node bench/profile.mjs WORKLOAD [ours|rrweb]   the measured step of one run under Chrome's
//                                                  CPU profiler: self and inclusive milliseconds
//                                                  per function, and the profile in bench/out/
//                                                  for DevTools
//   node bench/profile.mjs --floor                 per workload, the median time any recorder
//                                                  pays first (see benchFloor in www/bench)
// PKG=DIR serves DIR as /pkg: a build that keeps function names, e.g.
//   CARGO_PROFILE_WASM_RELEASE_STRIP=false cargo build -p cobrowse-wasm \
//     --target wasm32-unknown-unknown --profile wasm-release --target-dir /tmp/prof
//   wasm-bindgen --target web --no-typescript --keep-debug --out-dir /tmp/prof/pkg \
//     --out-name cobrowse /tmp/prof/wasm32-unknown-unknown/wasm-release/cobrowse_wasm.wasm
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, median } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.RUNS || 7);
const { origin, browser, close } = await start(
  process.env.PKG ? { pkg: path.resolve(process.env.PKG) } : {},
);

async function fresh() {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${origin}/bench/index.html`);
  return page;
}

// Self and inclusive time per function (by name and place) from a CDP CPU profile.
function summary(profile, top = 30) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const name = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}`;
  const self = new Map();
  const inclusive = new Map();
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] || 0;
    const leaf = name(byId.get(id));
    self.set(leaf, (self.get(leaf) || 0) + us);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const n = name(byId.get(at));
      if (!seen.has(n)) { seen.add(n); inclusive.set(n, (inclusive.get(n) || 0) + us); }
    }
  });
  const list = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([n, us]) => `${(us / 1000).toFixed(1).padStart(8)} ms  ${n}`).join('\n');
  return `self:\n${list(self)}\ninclusive:\n${list(inclusive)}`;
}

try {
  if (process.argv[2] === '--floor') {
    const page0 = await fresh();
    const workloads = await page0.evaluate(() => window.benchWorkloads);
    await page0.close();
    for (const workload of workloads) {
      const ms = [];
      for (let i = 0; i < RUNS; i++) {
        const page = await fresh();
        ms.push(await page.evaluate((w) => window.benchFloor(w), workload));
        await page.close();
      }
      console.log(JSON.stringify({ workload, floor_ms: Math.round(median(ms) * 10) / 10, runs: RUNS }));
    }
  } else {
    const [workload, lib = 'ours'] = process.argv.slice(2);
    if (!workload) throw new Error('usage: node bench/profile.mjs WORKLOAD [ours|rrweb] | --floor');
    const page = await fresh();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    // Only the measured step: building the page (and, for a change workload, the first
    // snapshot) is not what bench-capture charges a recorder.
    await page.evaluate(([l, w]) => window.benchPrepare(l, w), [lib, workload]);
    await cdp.send('Profiler.start');
    const step = await page.evaluate(() => window.benchGo());
    const { profile } = await cdp.send('Profiler.stop');
    const result = { ...step, bytes: await page.evaluate(() => window.benchBytes()) };
    const out = path.join(here, 'out');
    fs.mkdirSync(out, { recursive: true });
    const file = path.join(out, `${workload}.${lib}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    console.log(JSON.stringify({ workload, lib, ...result, profile: path.relative(process.cwd(), file) }));
    console.log(summary(profile));
  }
} finally {
  await close();
}
