// make bench-capture: one headless Chromium (Debian's), the same pages, rrweb's recorder and
// ours; prints one JSON line per workload with medians of several runs, each in a fresh page.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const www = path.resolve(here, '../www');
const rrwebFile = path.join(here, 'node_modules/rrweb/dist/rrweb.umd.min.cjs');
const RUNS = Number(process.env.RUNS || 7);
const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.cjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x').pathname;
  const file = url === '/rrweb.js' ? rrwebFile : path.join(www, path.normalize(url).replace(/^(\.\.[/\\])+/, ''));
  fs.readFile(file, (err, body) => {
    if (err) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
    res.end(body);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
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
  await browser.close();
  server.close();
}
