// Capture benchmark page: builds a workload's page, starts one recorder (ours, rrweb's, none,
// the baseline every recorder's own cost is measured from, or a bare observer, what any
// recorder pays to be told of the changes), runs the workload's change and waits until the
// recorder has gone quiet. Driven by bench/capture.mjs and bench/profile.mjs in two steps, so
// the driver can read Chromium's main-thread counters (or profile) between them:
//   benchPrepare(lib, workload)  build the page; for a change workload also start the recorder
//                                and let its first snapshot settle (not measured)
//   benchGo()                    the measured step: for a snapshot workload, start recording;
//                                else run the change in its own task; resolves once the recorder
//                                has emitted nothing for QUIET_MS, with the long tasks seen
//   benchBytes()                 what the recorder emitted during benchGo, counted afterwards
//                                (rrweb's events are JSON-encoded here, not during the step)
import init, { Capture } from '/pkg/cobrowse.js';

const ready = init({ module_or_path: '/pkg/cobrowse_bg.wasm' });
const root = document.getElementById('root');
const raf = () => new Promise((r) => requestAnimationFrame(r));
const tick = (ms) => new Promise((r) => setTimeout(r, ms));
const QUIET_MS = 150;

// About 10 nodes per card.
function cards(n) {
  const html = [];
  for (let i = 0; i < n; i++) {
    html.push(`<div class="card c${i % 9}"><h3>Item ${i}</h3><p>Description of item ${i} <a href="/p/${i}">more</a></p><span>${i}.99</span></div>`);
  }
  root.innerHTML = html.join('');
}

function flatDivs(n) {
  const from = document.createElement('div');
  from.id = 'from';
  for (let i = 0; i < n; i++) from.appendChild(document.createElement('div')).textContent = '';
  root.appendChild(from);
}

// A data table of `rows` rows of five cells: 1 + 11 nodes per row (tr, 5 td, 5 text).
function table(rows) {
  const html = ['<table><tbody>'];
  for (let i = 0; i < rows; i++) {
    html.push(`<tr><td>${i}</td><td>Customer ${i}</td><td>order-${i * 7}</td><td>${i % 31} Dec</td><td>${(i * 1.7).toFixed(2)}</td></tr>`);
  }
  html.push('</tbody></table>');
  root.innerHTML = html.join('');
}

const workloads = {
  // Full snapshot of a page of about 10,000 nodes: the change is starting to record.
  snapshot_10k_nodes: { setup: () => cards(1000), change: null },
  // The same for a 50,000-node table (4,200 rows).
  snapshot_50k_table: { setup: () => table(4200), change: null },
  append_1000x10: {
    setup: () => {},
    change: () => {
      for (let i = 0; i < 1000; i++) {
        const d = document.createElement('div');
        for (let j = 0; j < 10; j++) d.appendChild(document.createElement('div'));
        root.appendChild(d);
      }
    },
  },
  class_change_10000: {
    setup: () => flatDivs(10000),
    change: () => {
      for (const d of document.getElementById('from').children) d.className = 'on';
    },
  },
  move_10000: {
    setup: () => flatDivs(10000),
    change: () => {
      const to = root.appendChild(document.createElement('div'));
      const from = document.getElementById('from');
      while (from.firstChild) to.appendChild(from.firstChild);
    },
  },
  // A customer filling in a long form: 50 fields, 12 keystrokes each, one task per keystroke.
  typing_50_inputs: {
    setup: () => {
      root.innerHTML = Array.from({ length: 50 }, (_, i) =>
        `<label>Field ${i} <input name="f${i}" type="text"></label>`).join('');
    },
    change: async () => {
      const inputs = [...root.querySelectorAll('input')];
      for (const ch of 'hello world!') {
        for (const input of inputs) {
          input.value += ch;
          input.dispatchEvent(new Event('input', { bubbles: true }));
        }
        await tick(0);
      }
    },
  },
  // A ticking clock in 1,000 cells: 20 ticks, each rewriting every cell's text in one task.
  text_storm_1000: {
    setup: () => {
      root.innerHTML = Array.from({ length: 1000 }, (_, i) => `<span class="t">${i}:00</span>`).join('');
    },
    change: async () => {
      const cells = [...root.querySelectorAll('.t')];
      for (let t = 1; t <= 20; t++) {
        for (let i = 0; i < cells.length; i++) cells[i].firstChild.data = `${i}:${String(t).padStart(2, '0')}`;
        await tick(16);
      }
    },
  },
  // A CSS-in-JS library inserting 2,000 rules into its own sheet with insertRule.
  cssinjs_2000_rules: {
    setup: () => {
      const style = document.createElement('style');
      style.id = 'css-in-js';
      document.head.appendChild(style);
    },
    change: () => {
      const sheet = document.getElementById('css-in-js').sheet;
      for (let i = 0; i < 2000; i++) {
        sheet.insertRule(`.css-${i.toString(36)} { color: rgb(${i % 256}, 40, 90); padding: ${i % 13}px; }`, sheet.cssRules.length);
      }
    },
  },
};

// What the measured step recorded: each emission's time and its payload (sized afterwards).
let emitted = [];
let phase = 'idle';
let stopRecorder = () => {};
let longTasks = [];
let current = null;

new PerformanceObserver((list) => {
  if (phase === 'go') for (const e of list.getEntries()) longTasks.push(e.duration);
}).observe({ type: 'longtask' });

function startOurs(onSnapshot) {
  const capture = Capture.start({}, (frame) => {
    if (phase === 'go') emitted.push({ at: performance.now(), size: frame.length });
    // The snapshot is out: whole (Snapshot, 0x10), or a large page's last part (SnapshotPart,
    // 0x1e, whose body ends with its `last` flag).
    const done = frame[0] === 0x10 || (frame[0] === 0x1e && frame[frame.length - 1] === 1);
    if (done && onSnapshot) onSnapshot();
  });
  stopRecorder = () => capture.stop();
}

function startRrweb(onSnapshot) {
  const stop = window.rrweb.record({
    emit: (event) => {
      if (phase === 'go') emitted.push({ at: performance.now(), event });
      if (event.type === 2 && onSnapshot) onSnapshot();
    },
  });
  stopRecorder = () => stop && stop();
}

// What observing alone costs, which every recorder pays before its own work: a
// MutationObserver with our options and a pass-through insertRule hook (both recorders hook it),
// each doing nothing. The browser's own work making the records is counted here.
function startObserver(onSnapshot) {
  const observer = new MutationObserver(() => {});
  observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  const proto = CSSStyleSheet.prototype;
  const insertRule = proto.insertRule;
  proto.insertRule = function (...args) { return insertRule.apply(this, args); };
  stopRecorder = () => { observer.disconnect(); proto.insertRule = insertRule; };
  if (onSnapshot) onSnapshot();
}

function start(lib, onSnapshot) {
  if (lib === 'ours') startOurs(onSnapshot);
  else if (lib === 'rrweb') startRrweb(onSnapshot);
  else if (lib === 'observer') startObserver(onSnapshot);
  else if (onSnapshot) onSnapshot();
}

// Resolves once nothing has been emitted for QUIET_MS (at most 20 s after `since`).
async function quiet(since) {
  for (;;) {
    await tick(QUIET_MS / 3);
    const last = emitted.length ? emitted[emitted.length - 1].at : since;
    if (performance.now() - last >= QUIET_MS || performance.now() - since > 20_000) return last;
  }
}

window.benchPrepare = async (lib, name) => {
  await ready;
  current = { lib, workload: workloads[name] };
  current.workload.setup();
  await raf();
  if (current.workload.change) {
    await new Promise((r) => start(lib, r));
    await raf();
    await raf();
    await tick(QUIET_MS);
  }
};

window.benchGo = async () => {
  const { lib, workload } = current;
  emitted = [];
  longTasks = [];
  phase = 'go';
  const t0 = performance.now();
  if (workload.change) {
    // The change runs in its own task, as a click or a fetch callback would.
    await new Promise((r) => setTimeout(() => Promise.resolve(workload.change()).then(r)));
  } else {
    // Recording starts in a task of the page's own (a click on "share my screen" would), so
    // the Long Tasks API sees it: tasks run for the driver are not reported.
    // It is done once the snapshot is out (and then quiet).
    await new Promise((r) => setTimeout(() => start(lib, r)));
  }
  const last = await quiet(t0);
  // Let the long-task observer deliver the entries of the step's last tasks.
  await tick(0);
  phase = 'done';
  stopRecorder();
  const longest = Math.max(0, ...longTasks);
  const blocking = longTasks.reduce((sum, d) => sum + Math.max(0, d - 50), 0);
  return { last_emit_ms: last - t0, longest_task_ms: longest, blocking_ms: blocking, long_tasks: longTasks.length };
};

window.benchBytes = () => {
  const enc = new TextEncoder();
  return emitted.reduce((sum, e) => sum + (e.event ? enc.encode(JSON.stringify(e.event)).length : e.size), 0);
};

window.benchWorkloads = Object.keys(workloads);

// What any recorder pays before its own work (bench/profile.mjs --floor): a workload's change
// alone, seen by a MutationObserver that does nothing (with rrweb's options), and for the
// snapshot the layout that the first scroll-offset read forces on the freshly built page.
window.benchFloor = async (name) => {
  await ready;
  const workload = workloads[name];
  workload.setup();
  await raf();
  if (!workload.change) {
    const t0 = performance.now();
    void root.firstElementChild.scrollTop;
    return performance.now() - t0;
  }
  const observer = new MutationObserver(() => {});
  observer.observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true,
    attributeOldValue: true, characterDataOldValue: true,
  });
  await raf();
  await raf();
  return new Promise((resolve) => setTimeout(async () => {
    const t0 = performance.now();
    await workload.change();
    const ms = performance.now() - t0;
    observer.disconnect();
    resolve(ms);
  }));
};
