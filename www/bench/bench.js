// Capture benchmark page: builds a workload's page, starts one recorder (ours or rrweb), and
// measures the time from a change until the recorder emits it, and the bytes emitted.
// Driven by bench/capture.mjs through `window.runBench(lib, workload)`.
import init, { Capture } from '/pkg/cobrowse.js';

const ready = init({ module_or_path: '/pkg/cobrowse_bg.wasm' });
const root = document.getElementById('root');
const raf = () => new Promise((r) => requestAnimationFrame(r));

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

const workloads = {
  // Full snapshot of a page of about 10,000 nodes: the change is starting to record.
  snapshot_10k_nodes: { setup: () => cards(1000), change: null },
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
};

function ours(workload) {
  return new Promise((resolve) => {
    let t0 = 0;
    let bytes = 0;
    let phase = 'snapshot';
    let capture;
    const onFrame = async (frame) => {
      if (phase === 'snapshot') {
        if (frame[0] !== 0x10) return;
        if (!workload.change) return resolve({ ms: performance.now() - t0, bytes: frame.length });
        phase = 'settle';
        await raf();
        await raf();
        // The change runs in its own task, as a click or a fetch callback would.
        setTimeout(() => {
          phase = 'change';
          t0 = performance.now();
          workload.change();
        });
        return;
      }
      if (phase !== 'change') return;
      bytes += frame.length;
      if (frame[0] === 0x11) {
        const ms = performance.now() - t0;
        capture.stop();
        resolve({ ms, bytes });
      }
    };
    t0 = performance.now();
    capture = Capture.start({}, onFrame);
  });
}

function rrweb(workload) {
  return new Promise((resolve) => {
    let t0 = 0;
    let phase = 'snapshot';
    const enc = new TextEncoder();
    let stop;
    const emit = (event) => {
      const size = () => enc.encode(JSON.stringify(event)).length;
      if (phase === 'snapshot') {
        if (event.type !== 2) return;
        const ms = performance.now() - t0;
        if (!workload.change) {
          const bytes = size();
          setTimeout(() => stop && stop());
          return resolve({ ms, bytes });
        }
        phase = 'settle';
        raf().then(raf).then(() => setTimeout(() => {
          phase = 'change';
          t0 = performance.now();
          workload.change();
        }));
        return;
      }
      if (phase === 'change' && event.type === 3 && event.data.source === 0) {
        const ms = performance.now() - t0;
        phase = 'done';
        const bytes = size();
        stop && stop();
        resolve({ ms, bytes });
      }
    };
    t0 = performance.now();
    stop = window.rrweb.record({ emit });
  });
}

window.runBench = async (lib, name) => {
  await ready;
  const workload = workloads[name];
  workload.setup();
  await raf();
  return lib === 'ours' ? ours(workload) : rrweb(workload);
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
  return new Promise((resolve) => setTimeout(() => {
    const t0 = performance.now();
    workload.change();
    const ms = performance.now() - t0;
    observer.disconnect();
    resolve(ms);
  }));
};
