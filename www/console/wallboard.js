// Wallboard: queues (waiting, longest wait, service level now), waiting interactions and
// agents (state, time in state, current work), pushed by the relay as server-sent events on
// /api/routing/wallboard/stream: no polling. Times in state and waits count on here from the
// relay's `since` timestamps, corrected by the relay's clock in each board. A supervisor
// assigns or force-assigns work to an agent, sets a stuck agent's state or signs it out.

const $ = (id) => document.getElementById(id);
const api = (path, body, method = 'POST') => fetch(path, {
  method,
  credentials: 'same-origin',
  headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});

let board = null;        // the latest board the relay pushed
let clockOffset = 0;     // relay clock minus ours
let assignFor = null;    // the interaction the assign dialog is for
let stream = null;
let drawn = '';           // the last board drawn, without its clock, to skip identical ones
const picked = new Map(); // agent name → state chosen in its select but not yet set
// For tests and the curious: how many boards were drawn, and the latest.
window.wallboard = { renders: 0, board: null };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

/** A counter that ticks on from `sinceMs` (relay time). */
const since = (sinceMs) => el('span', { class: 'since', 'data-since': String(sinceMs) }, '');

function say(id, message) {
  const e = $(id);
  e.textContent = message || '';
  e.hidden = !message;
}

function level(q) {
  if (q.service_level === null || q.service_level === undefined) {
    return el('span', { class: 'muted', title: 'No wait ended in the window yet' }, '—');
  }
  const pct = Math.round(q.service_level * 100);
  const grade = pct >= 80 ? 'good' : pct >= 60 ? 'fair' : 'poor';
  return el('span', { class: `sl ${grade}`, title: `${q.service_level_in_target} of ${q.service_level_counted} in target` }, `${pct} %`);
}

function queueRow(q) {
  const wait = q.longest_waiting_since_ms ? since(q.longest_waiting_since_ms) : '—';
  return el('tr', { 'data-queue': q.name },
    el('td', {}, q.name), el('td', { class: 'n waiting-count' }, String(q.waiting)),
    el('td', { class: 'n' }, wait), el('td', { class: 'n' }, level(q)),
    el('td', { class: 'n' }, String(q.agents_available)), el('td', { class: 'n' }, String(q.agents_busy)),
    el('td', { class: 'n' }, String(q.offered_today)), el('td', { class: 'n' }, String(q.answered_today)));
}

function waitingRow(q, w) {
  return el('tr', { 'data-interaction': w.interaction },
    el('td', {}, el('span', { class: 'media' }, w.media), ' ', el('span', { class: 'mono' }, w.interaction)),
    el('td', {}, q.name), el('td', { class: 'n' }, since(w.since_ms)),
    el('td', {}, el('button', { class: 'small accent assign', onclick: () => openAssign(w.interaction, `${w.media} waiting in ${q.name}`) }, 'Assign…')));
}

async function order(path, body, method, done) {
  const r = await api(path, body, method);
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) {
    say('board-error', answer.error || `refused (${r.status})`);
    say('board-notice', '');
    return null;
  }
  say('board-error', '');
  say('board-notice', done(answer));
  return answer;
}

function agentRow(a) {
  const signedIn = a.status !== 'offline';
  const work = a.work.length
    ? el('ul', { class: 'work' }, ...a.work.map((w) => el('li', { 'data-interaction': w.interaction, 'data-state': w.state },
      el('span', { class: 'media' }, w.media), el('span', { class: 'mono' }, w.interaction),
      el('span', { class: 'muted small' }, w.state.replace('_', '-')),
      w.forced ? el('span', { class: 'forced', title: 'Assigned above the agent\'s capacity' }, 'forced') : '',
      w.state === 'wrap_up' ? '' : el('button', { class: 'small reassign', 'aria-label': `Reassign ${w.media} ${w.interaction}`,
        onclick: () => openAssign(w.interaction, `${w.media} held by ${a.name}`) }, 'Reassign…'))))
    : el('span', { class: 'muted' }, signedIn ? 'Nothing open' : '—');
  const actions = el('div', { class: 'actions' });
  if (signedIn) {
    const chosen = picked.get(a.name) || a.presence;
    const pick = el('select', { 'aria-label': `State for ${a.name}`, onchange: () => picked.set(a.name, pick.value) },
      ...['available', 'busy', 'away'].map((s) => {
        const o = el('option', { value: s }, s);
        if (s === chosen) o.selected = true;
        return o;
      }));
    const set = async () => {
      const done = await order(`/api/routing/agents/${encodeURIComponent(a.name)}/state`, { state: pick.value }, 'PUT',
        (d) => `${a.name} is ${d.presence} now.`);
      if (done) picked.delete(a.name);
    };
    actions.append(pick,
      el('button', { class: 'set-state', onclick: set }, 'Set'),
      el('button', { class: 'danger sign-out', onclick: () => order(`/api/routing/agents/${encodeURIComponent(a.name)}/sign-out`, undefined, 'POST',
        () => `${a.name} is signed out; the work it held waits in its queues again.`) }, 'Sign out'));
  }
  return el('tr', { 'data-agent': a.name },
    el('td', {}, a.name), el('td', {}, el('span', { class: `state ${a.status}` }, a.status.replace('_', '-'))),
    el('td', { class: 'n' }, signedIn ? since(a.status_since_ms) : '—'), el('td', {}, work), el('td', {}, actions));
}

function render(next) {
  board = next;
  clockOffset = next.at_ms - Date.now();
  // While anything waits the relay republishes every second; only the clock moved.
  const same = JSON.stringify({ ...next, at_ms: 0, agents: next.agents.map((a) => ({ ...a, time_in_status_ms: 0 })),
    queues: next.queues.map((q) => ({ ...q, longest_wait_ms: 0 })) });
  if (same === drawn) { tick(); return; }
  drawn = same;
  window.wallboard.renders += 1;
  window.wallboard.board = next;
  $('sl-rule').textContent = `Service level: answered within ${next.service_level_threshold_ms / 1000} s, last ${next.service_level_window_ms / 60000} min.`;
  $('queues').tBodies[0].replaceChildren(...next.queues.map(queueRow));
  $('queues-empty').hidden = next.queues.length > 0;
  $('queues').hidden = next.queues.length === 0;
  const waiting = next.queues.flatMap((q) => q.waiting_list.map((w) => waitingRow(q, w)));
  $('waiting').tBodies[0].replaceChildren(...waiting);
  $('waiting-empty').hidden = waiting.length > 0;
  $('waiting').hidden = waiting.length === 0;
  // Signed-in agents first, then by name.
  const agents = [...next.agents].sort((x, y) => (x.status === 'offline') - (y.status === 'offline') || x.name.localeCompare(y.name));
  // Redrawing would close a state select someone is using: keep the focus where it was.
  const focused = document.activeElement && document.activeElement.closest('tr[data-agent]');
  const focusedName = focused && focused.dataset.agent;
  const focusedClass = document.activeElement && document.activeElement.className;
  $('agents').tBodies[0].replaceChildren(...agents.map(agentRow));
  if (focusedName) {
    const row = document.querySelector(`tr[data-agent="${CSS.escape(focusedName)}"]`);
    const again = row && [...row.querySelectorAll('button, select')].find((e) => e.className === focusedClass);
    if (again) again.focus();
  }
  $('agents-empty').hidden = agents.length > 0;
  $('agents').hidden = agents.length === 0;
  $('updated').textContent = `Updated ${new Date(next.at_ms).toLocaleTimeString()}`;
  tick();
}

function tick() {
  const now = Date.now() + clockOffset;
  for (const c of document.querySelectorAll('.since')) c.textContent = duration(now - Number(c.dataset.since));
}

function openAssign(interaction, what) {
  if (!board) return;
  assignFor = interaction;
  $('assign-title').textContent = `Assign ${interaction}`;
  $('assign-what').textContent = what;
  const agents = board.agents.filter((a) => a.status !== 'offline');
  $('assign-agent').replaceChildren(...(agents.length
    ? agents.map((a) => el('option', { value: a.name }, `${a.name} (${a.status.replace('_', '-')}, ${a.active} open)`))
    : [el('option', { value: '' }, 'No agent is signed in')]));
  $('assign-force').checked = false;
  say('assign-error', '');
  $('assign-dialog').showModal();
  $('assign-agent').focus();
}

$('assign-form').addEventListener('submit', async (e) => {
  const go = e.submitter && e.submitter.value === 'go';
  if (!go || !assignFor) return;
  e.preventDefault();
  const agent = $('assign-agent').value;
  const force = $('assign-force').checked;
  if (!agent) { say('assign-error', 'No agent to assign to.'); return; }
  const r = await api(`/api/routing/interactions/${encodeURIComponent(assignFor)}/assign`, { agent, force });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) {
    const hint = r.status === 409 && !force ? ' Tick Force to assign above capacity.' : '';
    say('assign-error', (answer.error || `refused (${r.status})`) + hint);
    return;
  }
  $('assign-dialog').close();
  say('board-error', '');
  say('board-notice', `${answer.interaction} is ${answer.agent}'s now${answer.forced ? ', above capacity (forced)' : ''}.`);
});

function live(state) {
  const e = $('live');
  e.className = `live ${state === 'on' ? 'on' : state === 'off' ? 'off' : ''}`;
  e.textContent = state === 'on' ? 'Live' : state === 'off' ? 'Not updating: sign in again or reload' : 'Reconnecting…';
}

function connect() {
  stream = new EventSource('/api/routing/wallboard/stream');
  stream.addEventListener('open', () => live('on'));
  stream.addEventListener('wallboard', (e) => { live('on'); render(JSON.parse(e.data)); });
  // EventSource reconnects by itself after a dropped connection; a refusal closes it.
  stream.addEventListener('error', () => live(stream.readyState === EventSource.CLOSED ? 'off' : 'wait'));
}

async function start() {
  const me = await fetch('/api/me', { credentials: 'same-origin' });
  if (!me.ok) {
    $('view-login').hidden = false;
    $('login-name').focus();
    return;
  }
  const person = await me.json();
  $('agent-name').textContent = person.name;
  $('view-login').hidden = true;
  $('view-board').hidden = false;
  connect();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await api('/api/login', { name: $('login-name').value, password: $('login-password').value });
  if (!r.ok) {
    $('login-error').textContent = 'Wrong user name or password.';
    $('login-error').hidden = false;
    return;
  }
  // The page links depend on the roles: load the page again, signed in.
  location.reload();
});

setInterval(tick, 1000);
start();
