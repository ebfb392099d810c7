// Reports: historical queue and agent metrics for an interval, as tables, plain-SVG bar charts
// and CSV downloads. All figures come from GET /api/reports/{queues,agents}.

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#d97706'];

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function td(value, numeric = true) {
  const cell = document.createElement('td');
  if (numeric) cell.className = 'n';
  cell.textContent = value;
  return cell;
}

const num = (v, digits = 1) => (v === null || v === undefined ? '—' : Number(v).toFixed(digits));
const pct = (v) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)} %`);

// Grouped bars: one group per label, one bar per series; values scaled to the largest.
function barChart(labels, series, { max, integer = false, format = (v) => String(v) } = {}) {
  const width = 520, height = 220, left = 46, bottom = 28, top = 12;
  const plotH = height - bottom - top;
  const highest = Math.max(0, ...series.flatMap((s) => s.values.map((v) => v ?? 0)));
  // Counts get whole-number ticks; other values a little headroom.
  const top_ = max ?? (integer ? Math.max(4, Math.ceil(highest / 4) * 4) : Math.max(highest * 1.25, 1e-9));
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img' });
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    root.append(svg('line', { x1: left, x2: width, y1: y, y2: y, stroke: '#e5e7eb' }));
    root.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, format((top_ * i) / 4)));
  }
  const group = labels.length ? (width - left) / labels.length : 0;
  const bar = Math.min(28, (group * 0.8) / Math.max(1, series.length));
  labels.forEach((label, g) => {
    const x0 = left + g * group + (group - bar * series.length) / 2;
    series.forEach((s, i) => {
      const v = s.values[g] ?? 0;
      const h = (plotH * v) / top_;
      const rect = svg('rect', { x: x0 + i * bar, y: top + plotH - h, width: bar - 2, height: h, fill: COLORS[i % COLORS.length] });
      rect.append(svg('title', {}, `${label} · ${s.name}: ${format(v)}`));
      root.append(rect);
    });
    root.append(svg('text', { x: left + g * group + group / 2, y: height - 8, 'text-anchor': 'middle' }, label));
  });
  if (!labels.length) root.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'No data in this interval'));
  return root;
}

function legend(id, names) {
  $(id).replaceChildren(...names.map((n, i) => {
    const s = document.createElement('span');
    const dot = document.createElement('i');
    dot.style.background = COLORS[i % COLORS.length];
    s.append(dot, n);
    return s;
  }));
}

function toInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

function query() {
  const from = new Date($('from').value).getTime();
  const to = new Date($('to').value).getTime();
  return `from=${from}&to=${to}&sl_secs=${Number($('sl').value) || 20}`;
}

async function get(path) {
  const r = await fetch(path, { credentials: 'same-origin' });
  if (r.status === 401) {
    location.href = `agent-desk.html`;
    throw new Error('sign in first');
  }
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

async function show() {
  const q = query();
  $('queues-csv').href = `/api/reports/queues.csv?${q}`;
  $('agents-csv').href = `/api/reports/agents.csv?${q}`;
  try {
    const [queues, agents] = await Promise.all([get(`/api/reports/queues?${q}`), get(`/api/reports/agents?${q}`)]);
    $('error').hidden = true;
    const qs = queues.rows;
    $('queues').tBodies[0].replaceChildren(...qs.map((r) => {
      const tr = document.createElement('tr');
      tr.append(td(r.queue || `#${r.queue_id}`, false), td(r.offered), td(r.answered), td(r.abandoned),
        td(num(r.asa_secs)), td(num(r.aht_secs)), td(pct(r.service_level)), td(pct(r.abandon_rate)),
        td(r.transfers), td(r.cobrowse_sessions), td(num(r.cobrowse_avg_secs)),
        td(r.calls_from_chat), td(num(r.calls_from_chat_avg_secs)));
      return tr;
    }));
    const as = agents.rows;
    $('agents').tBodies[0].replaceChildren(...as.map((r) => {
      const tr = document.createElement('tr');
      tr.append(td(r.agent || r.agent_id, false), td(r.answered), td(num(r.aht_secs)), td(num(r.talk_secs)),
        td(num(r.hold_secs)), td(num(r.wrap_up_secs)), td(num(r.staffed_secs)), td(pct(r.occupancy)),
        td(r.transfers), td(r.cobrowse_sessions));
      return tr;
    }));
    const labels = qs.map((r) => r.queue || `#${r.queue_id}`);
    legend('volume-legend', ['Offered', 'Answered', 'Abandoned']);
    $('volume-chart').replaceChildren(barChart(labels, [
      { name: 'Offered', values: qs.map((r) => r.offered) },
      { name: 'Answered', values: qs.map((r) => r.answered) },
      { name: 'Abandoned', values: qs.map((r) => r.abandoned) },
    ], { integer: true, format: (v) => String(Math.round(v)) }));
    legend('rate-legend', [`Service level (${queues.sl_secs} s)`, 'Abandon rate']);
    $('rate-chart').replaceChildren(barChart(labels, [
      { name: 'Service level', values: qs.map((r) => r.service_level) },
      { name: 'Abandon rate', values: qs.map((r) => r.abandon_rate) },
    ], { max: 1, format: (v) => `${Math.round(v * 100)}%` }));
    $('aht-chart').replaceChildren(barChart(as.map((r) => r.agent || r.agent_id),
      [{ name: 'AHT', values: as.map((r) => r.aht_secs) }], { format: (v) => (v < 10 ? v.toFixed(1) : v.toFixed(0)) }));
  } catch (e) {
    $('error').textContent = e.message;
    $('error').hidden = false;
  }
}

const now = Date.now();
const midnight = new Date(); midnight.setHours(0, 0, 0, 0);
$('from').value = toInput(midnight.getTime());
$('to').value = toInput(now + 60 * 60 * 1000);
$('filters').addEventListener('submit', (e) => { e.preventDefault(); show(); });
show();
