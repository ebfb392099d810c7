// make bench-capture: one headless Chromium (Debian's), the same pages, no recorder, rrweb's
// recorder and ours; prints one JSON line per workload with medians of several runs, each run
// in a fresh page.
//
// A recorder's own main-thread time is the renderer's task time (Chromium's TaskDuration
// counter, read over CDP around the measured step) with that recorder, minus the same step with
// no recorder: the workload's own cost (building nodes, style, layout) cancels out. A bare
// observer (a MutationObserver and an insertRule hook that do nothing) gives what being told of
// the changes costs any recorder (the browser's own work making the records); the ratio past
// it compares what each recorder does with them. Long tasks (the Long Tasks API, in the page)
// give the longest task and the total blocking time (the sum of each long task's time past
// 50 ms) of the step.
import { start, median } from './harness.mjs';

const RUNS = Number(process.env.RUNS || 7);
const LIBS = ['none', 'observer', 'ours', 'rrweb'];
const { origin, browser, close } = await start();
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function taskMs(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const task = metrics.find((m) => m.name === 'TaskDuration');
  return task ? task.value * 1000 : NaN;
}

async function once(lib, workload) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`${lib} ${workload}:`, e.message));
  try {
    await page.goto(`${origin}/bench/index.html`);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.evaluate(([l, w]) => window.benchPrepare(l, w), [lib, workload]);
    const before = await taskMs(cdp);
    const step = await page.evaluate(() => window.benchGo());
    const after = await taskMs(cdp);
    const bytes = await page.evaluate(() => window.benchBytes());
    return { task_ms: after - before, bytes, ...step };
  } finally {
    await page.close();
  }
}

try {
  const page0 = await browser.newPage();
  await page0.goto(`${origin}/bench/index.html`);
  const workloads = process.env.WORKLOADS ? process.env.WORKLOADS.split(',')
    : await page0.evaluate(() => window.benchWorkloads);
  await page0.close();
  for (const workload of workloads) {
    const runs = Object.fromEntries(LIBS.map((l) => [l, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const lib of LIBS) runs[lib].push(await once(lib, workload));
    }
    const med = (lib, key) => median(runs[lib].map((r) => r[key]));
    const none = med('none', 'task_ms');
    const own = (lib) => Math.max(0, med(lib, 'task_ms') - none);
    const ours_own_ms = own('ours');
    const rrweb_own_ms = own('rrweb');
    const observer_own_ms = own('observer');
    const past = (ms) => Math.max(0, ms - observer_own_ms);
    const ours_tbt_ms = med('ours', 'blocking_ms');
    const rrweb_tbt_ms = med('rrweb', 'blocking_ms');
    const ours_bytes = med('ours', 'bytes');
    const rrweb_bytes = med('rrweb', 'bytes');
    console.log(JSON.stringify({
      workload,
      ours_own_ms: round(ours_own_ms, 1),
      rrweb_own_ms: round(rrweb_own_ms, 1),
      own_ratio: round(ours_own_ms / Math.max(rrweb_own_ms, 0.1), 3),
      observer_own_ms: round(observer_own_ms, 1),
      own_ratio_past_observer: round(past(ours_own_ms) / Math.max(past(rrweb_own_ms), 0.1), 3),
      none_task_ms: round(none, 1),
      ours_longest_task_ms: round(med('ours', 'longest_task_ms'), 1),
      rrweb_longest_task_ms: round(med('rrweb', 'longest_task_ms'), 1),
      ours_tbt_ms: round(ours_tbt_ms, 1),
      rrweb_tbt_ms: round(rrweb_tbt_ms, 1),
      tbt_ratio: rrweb_tbt_ms > 0 ? round(ours_tbt_ms / rrweb_tbt_ms, 3) : null,
      ours_bytes,
      rrweb_bytes,
      bytes_ratio: round(ours_bytes / rrweb_bytes, 3),
      runs: RUNS,
    }));
  }
} finally {
  await close();
}
