// make bench-capture: one headless Chromium (Debian's), the same pages, rrweb's recorder and
// ours; prints one JSON line per workload with medians of several runs, each in a fresh page.
import { start, median } from './harness.mjs';

const RUNS = Number(process.env.RUNS || 7);
const { origin, browser, close } = await start();
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

try {
  const page0 = await browser.newPage();
  await page0.goto(`${origin}/bench/index.html`);
  const workloads = await page0.evaluate(() => window.benchWorkloads);
  await page0.close();
  for (const workload of workloads) {
    const results = { ours: [], rrweb: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const lib of ['ours', 'rrweb']) {
        const page = await browser.newPage();
        page.on('pageerror', (e) => console.error(`${lib} ${workload}:`, e.message));
        await page.goto(`${origin}/bench/index.html`);
        results[lib].push(await page.evaluate(([l, w]) => window.runBench(l, w), [lib, workload]));
        await page.close();
      }
    }
    const ours_ms = median(results.ours.map((r) => r.ms));
    const rrweb_ms = median(results.rrweb.map((r) => r.ms));
    const ours_bytes = median(results.ours.map((r) => r.bytes));
    const rrweb_bytes = median(results.rrweb.map((r) => r.bytes));
    console.log(JSON.stringify({
      workload, ours_ms: round(ours_ms), rrweb_ms: round(rrweb_ms), ms_ratio: round(ours_ms / rrweb_ms, 3),
      ours_bytes, rrweb_bytes, bytes_ratio: round(ours_bytes / rrweb_bytes, 3), runs: RUNS,
    }));
  }
} finally {
  await close();
}
