// Settings, for admins: people (add, roles, disable and enable, reset a password), sites
// (allowed origins, mask / block / read-only selectors, pause patterns, masked typing) and
// routing (queues with their wrap-up codes, agents' profiles) and connectors (telephony
// connectors' tokens, open-messaging integrations' secrets, each shown once). Every
// change goes to the relay's admin API (/api/admin/...), which checks it and stores it; the
// relay's answer is what is shown, and a refusal's text is shown as it came.

import { me as whoAmI } from './nav.js';

const $ = (id) => document.getElementById(id);
const ROLES = ['agent', 'supervisor', 'admin'];
const LISTS = ['mask', 'block', 'readonly', 'pause'];
const FLAGS = ['agentTypesMasked', 'submitReadonly', 'privateByDefault', 'requireEncryption'];
let self = null;      // who is signed in
let site = null;      // the site on the form, as the relay last sent it
// For tests and the curious: how many saves the relay accepted.
window.settings = { saved: 0 };

const api = async (path, body, method = body === undefined ? 'GET' : 'POST') => {
  const r = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new Error((data && data.error) || `the relay answered ${r.status}`);
  return data;
};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else if (v !== false && v !== undefined) e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function say(message) {
  $('error').hidden = true;
  $('notice').textContent = message;
}

function fail(e, where = 'error') {
  $('notice').textContent = '';
  $(where).textContent = e.message || String(e);
  $(where).hidden = false;
}

// People.

function roleBoxes(prefix, held, onchange) {
  return ROLES.map((role) => el('label', {}, el('input', {
    type: 'checkbox', value: role, 'data-role': role, checked: held.includes(role),
    'aria-label': `${prefix} ${role}`, onchange,
  }), role));
}

async function loadPeople() {
  const people = await api('/api/admin/people');
  const body = $('people-table').tBodies[0];
  $('people-empty').hidden = people.length > 0;
  body.replaceChildren(...people.map((p) => {
    const mine = self && p.id === self.id;
    const boxes = roleBoxes(p.name, p.roles, async (e) => {
      const roles = [...e.target.closest('.roles').querySelectorAll('input:checked')].map((i) => i.value);
      try {
        await api(`/api/admin/people/${encodeURIComponent(p.name)}/roles`, { roles }, 'PUT');
        say(`${p.name}: ${roles.join(', ') || 'no role'}.`);
      } catch (err) { fail(err); }
      loadPeople();
    });
    const actions = el('span', { class: 'actions' },
      el('button', { type: 'button', class: p.disabled ? '' : 'danger', disabled: mine && !p.disabled,
        title: mine ? 'You cannot disable yourself' : undefined,
        onclick: () => act(p, p.disabled ? 'enable' : 'disable') }, p.disabled ? 'Enable' : 'Disable'),
      el('button', { type: 'button', onclick: () => resetPassword(p) }, 'Reset password…'));
    return el('tr', { 'data-person': p.name, class: p.disabled ? 'disabled-row' : '' },
      el('td', {}, p.name, mine ? ' (you)' : ''),
      el('td', {}, el('span', { class: 'roles' }, ...boxes)),
      el('td', {}, p.disabled ? 'Disabled' : 'Active'),
      el('td', {}, actions));
  }));
}

async function act(person, action) {
  try {
    await api(`/api/admin/people/${encodeURIComponent(person.name)}/${action}`, {});
    say(`${person.name} is ${action === 'disable' ? 'disabled and signed out everywhere' : 'enabled'}.`);
  } catch (e) { fail(e); }
  loadPeople();
}

async function resetPassword(person) {
  const password = prompt(`A new password for ${person.name} (8 characters or more):`);
  if (!password) return;
  try {
    await api(`/api/admin/people/${encodeURIComponent(person.name)}/password`, { password });
    say(`${person.name}'s password is reset; its open sessions are closed.`);
  } catch (e) { fail(e); }
}

$('person-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const roles = [...$('new-roles').querySelectorAll('input:checked')].map((i) => i.value);
  try {
    const p = await api('/api/admin/people', { name: $('new-name').value.trim(), password: $('new-password').value, roles });
    say(`${p.name} added.`);
    $('person-form').reset();
    $('new-name').focus();
  } catch (err) { fail(err); }
  loadPeople();
});

// Sites.

const lines = (text) => text.split('\n').map((l) => l.trim()).filter(Boolean);

async function loadSites(pick) {
  const sites = await api('/api/admin/sites');
  const select = $('site-key');
  select.replaceChildren(...sites.map((s) => el('option', { value: s.key }, s.key)));
  $('sites-empty').hidden = sites.length > 0;
  const key = pick || (site && site.key) || (sites[0] && sites[0].key);
  if (key) {
    select.value = key;
    show(sites.find((s) => s.key === key) || { key, origins: [], rules: {} });
  } else {
    $('site-form').hidden = true;
  }
}

function show(s) {
  site = s;
  $('site-form').hidden = false;
  $('site-error').hidden = true;
  $('site-title').textContent = `Site ${s.key}`;
  $('origins').value = (s.origins || []).join('\n');
  for (const list of LISTS) $(list).value = (s.rules[list] || []).join('\n');
  for (const flag of FLAGS) $(flag).checked = !!s.rules[flag];
  $('site-updated').textContent = s.updated_at
    ? `Last changed ${new Date(s.updated_at).toLocaleString()}` : 'Rules never changed here.';
}

$('site-key').addEventListener('change', () => loadSites($('site-key').value));
$('new-site-go').addEventListener('click', () => {
  const key = $('new-site').value.trim();
  if (!key) { $('new-site').focus(); return; }
  show({ key, origins: [], rules: {} });
  $('origins').focus();
});

$('site-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const rules = { ...site.rules };
  for (const list of LISTS) rules[list] = lines($(list).value);
  for (const flag of FLAGS) rules[flag] = $(flag).checked;
  try {
    const saved = await api(`/api/admin/sites/${encodeURIComponent(site.key)}`,
      { origins: lines($('origins').value), rules }, 'PUT');
    window.settings.saved += 1;
    $('new-site').value = '';
    say(`Site ${saved.key} saved: its pages use these rules from their next load.`);
    await loadSites(saved.key);
  } catch (err) { fail(err, 'site-error'); }
});

// Routing: queues (saved and applied at once) and agents' profiles.

let queues = [];

// Skills as an admin types them, "1:3, 4:2" (skill number:level); a malformed pair is an error.
const skillsText = (list) => (list || []).map((s) => `${s.skill}:${s.level}`).join(', ');
function parseSkills(text) {
  return text.split(',').map((t) => t.trim()).filter(Boolean).map((t) => {
    const m = /^(\d+)\s*:\s*(\d+)$/.exec(t);
    if (!m) throw new Error(`"${t}" is not skill:level (for example 1:3)`);
    return { skill: Number(m[1]), level: Number(m[2]) };
  });
}

async function loadRouting() {
  queues = await api('/api/routing/queues');
  $('queues-empty').hidden = queues.length > 0;
  $('queues-table').tBodies[0].replaceChildren(...queues.map(({ queue: q }) => el('tr', { 'data-queue': q.name },
    el('td', {}, q.name),
    el('td', {}, String(q.priority || 0)),
    el('td', {}, q.strategy || 'longest_idle'),
    el('td', {}, `${Math.round((q.offer_timeout_ms || 15000) / 1000)} s`),
    el('td', {}, skillsText(q.skills) || '—'),
    el('td', {}, (q.wrap_up_codes || []).join(', ') || '—'),
    el('td', {}, el('button', { type: 'button', class: 'small', onclick: () => editQueue(q) }, 'Edit')))));
  const people = await api('/api/admin/people');
  const select = $('profile-person');
  const chosen = select.value;
  select.replaceChildren(...people.filter((p) => p.roles.includes('agent') && !p.disabled)
    .map((p) => el('option', { value: p.name }, p.name)));
  if (chosen) select.value = chosen;
  await loadProfile();
}

function editQueue(q) {
  $('queue-name').value = q.name;
  $('queue-priority').value = q.priority || 0;
  $('queue-strategy').value = q.strategy || 'longest_idle';
  $('queue-timeout').value = Math.round((q.offer_timeout_ms || 15000) / 1000);
  $('queue-codes').value = (q.wrap_up_codes || []).join(', ');
  $('queue-skills').value = skillsText(q.skills);
  $('queue-name').focus();
}

$('queue-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const codes = $('queue-codes').value.split(',').map((c) => c.trim()).filter(Boolean);
  const existing = queues.find(({ queue }) => queue.name === $('queue-name').value.trim());
  let skills;
  try { skills = parseSkills($('queue-skills').value); } catch (err) { fail(err); return; }
  const spec = {
    ...(existing ? existing.queue : {}),
    name: $('queue-name').value.trim(),
    priority: Number($('queue-priority').value) || 0,
    strategy: $('queue-strategy').value,
    offer_timeout_ms: Math.max(1, Number($('queue-timeout').value) || 15) * 1000,
    skills,
    wrap_up_codes: codes.length ? codes : null,
  };
  try {
    await api('/api/routing/queues', spec);
    window.settings.saved += 1;
    say(`Queue ${spec.name} saved: it routes now.`);
    $('queue-form').reset();
  } catch (err) { fail(err); }
  loadRouting().catch(fail);
});

async function loadProfile() {
  const name = $('profile-person').value;
  if (!name) return;
  const p = await api(`/api/routing/agents/${encodeURIComponent(name)}/profile`);
  $('profile-queues').replaceChildren(...queues.map(({ queue: q }) => el('label', {},
    el('input', { type: 'checkbox', value: q.name, 'data-queue': q.name, checked: (p.queues || []).includes(q.name) }), q.name)));
  const cap = p.capacity || { call: 1, chat: 3, message: 5 };
  for (const m of ['call', 'chat', 'message']) $(`cap-${m}`).value = cap[m];
  $('profile-skills').value = skillsText(p.skills);
}

$('profile-person').addEventListener('change', () => loadProfile().catch(fail));
$('profile-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('profile-person').value;
  let skills;
  try { skills = parseSkills($('profile-skills').value); } catch (err) { fail(err, 'profile-error'); return; }
  const spec = {
    skills,
    queues: [...$('profile-queues').querySelectorAll('input:checked')].map((i) => i.value),
    capacity: Object.fromEntries(['call', 'chat', 'message'].map((m) => [m, Number($(`cap-${m}`).value) || 0])),
  };
  try {
    const current = await api(`/api/routing/agents/${encodeURIComponent(name)}/profile`);
    await api(`/api/routing/agents/${encodeURIComponent(name)}/profile`, { ...current, ...spec }, 'PUT');
    $('profile-error').hidden = true;
    say(`${name}'s routing profile saved: it applies now.`);
  } catch (err) { fail(err, 'profile-error'); }
});

// Connectors: telephony connectors' tokens and open-messaging integrations' secrets, each
// shown once, when the relay issues it.

function showSecret(value) {
  $('secret').textContent = value;
  $('secret-box').hidden = false;
}

async function loadConnectors() {
  const [connectors, integrations] = await Promise.all([api('/api/routing/connectors'), api('/api/messaging/integrations')]);
  $('connectors-empty').hidden = connectors.length > 0;
  $('connectors-table').tBodies[0].replaceChildren(...connectors.map((c) => el('tr', { 'data-connector': c.name },
    el('td', {}, c.name),
    el('td', {}, new Date(c.created_at).toLocaleDateString()),
    el('td', {}, el('span', { class: 'actions' },
      el('button', { type: 'button', onclick: () => issue(c.name, true) }, 'New token'),
      el('button', { type: 'button', class: 'danger', onclick: () => removeConnector(c.name) }, 'Remove'))))));
  $('integrations-empty').hidden = integrations.length > 0;
  $('integrations-table').tBodies[0].replaceChildren(...integrations.map((i) => el('tr', { 'data-integration': i.name },
    el('td', {}, i.name),
    el('td', { class: 'mono' }, i.webhook_url),
    el('td', { class: 'mono' }, i.bot_url || '—'),
    el('td', { class: 'mono' }, `/api/messaging/open/${i.name}`),
    el('td', {}, el('button', { type: 'button', class: 'small', onclick: () => editIntegration(i) }, 'Edit')))));
}

async function issue(name, again) {
  if (again && !confirm(`Give ${name} a new token? The old one stops working at once.`)) return;
  try {
    const made = await api(`/api/routing/connectors/${encodeURIComponent(name)}`, {});
    showSecret(made.token);
    say(`Connector ${name}: its token is below.`);
  } catch (e) { fail(e); }
  loadConnectors().catch(fail);
}

async function removeConnector(name) {
  if (!confirm(`Remove ${name}? Its token stops working at once.`)) return;
  try {
    await api(`/api/routing/connectors/${encodeURIComponent(name)}`, undefined, 'DELETE');
    say(`Connector ${name} removed.`);
  } catch (e) { fail(e); }
  loadConnectors().catch(fail);
}

function editIntegration(i) {
  $('integration-name').value = i.name;
  $('integration-webhook').value = i.webhook_url;
  $('integration-bot').value = i.bot_url || '';
  $('integration-webhook').focus();
}

$('connector-form').addEventListener('submit', (e) => {
  e.preventDefault();
  issue($('connector-name').value.trim(), false).then(() => $('connector-form').reset());
});

$('integration-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('integration-name').value.trim();
  try {
    const saved = await api(`/api/messaging/integrations/${encodeURIComponent(name)}`, {
      webhook_url: $('integration-webhook').value.trim(),
      bot_url: $('integration-bot').value.trim() || null,
      rotate_secret: $('integration-rotate').checked,
    }, 'PUT');
    if (saved.secret) showSecret(saved.secret);
    say(`Integration ${name} saved${saved.secret ? ': its signing secret is below' : ''}.`);
    $('integration-form').reset();
  } catch (err) { fail(err); }
  loadConnectors().catch(fail);
});

// Tabs: click, or the arrow keys on a tab.

const TABS = ['people', 'sites', 'routing', 'connectors'];

function tab(name) {
  for (const t of TABS) {
    $(`tab-${t}`).setAttribute('aria-selected', String(t === name));
    $(t).hidden = t !== name;
  }
  $(`tab-${name}`).focus();
  if (name === 'sites') loadSites().catch(fail);
  if (name === 'routing') loadRouting().catch(fail);
  if (name === 'connectors') loadConnectors().catch(fail);
  $('secret-box').hidden = true;
}
TABS.forEach((t, i) => {
  $(`tab-${t}`).addEventListener('click', () => tab(t));
  $(`tab-${t}`).addEventListener('keydown', (e) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (step) tab(TABS[(i + step + TABS.length) % TABS.length]);
  });
});

async function start() {
  self = await whoAmI;
  if (!self) {
    $('view-login').hidden = false;
    $('login-name').focus();
    return;
  }
  $('agent-name').textContent = self.name;
  $('view-login').hidden = true;
  if (!(self.roles || []).includes('admin')) return; // nav.js explains the page is not theirs
  $('view-settings').hidden = false;
  $('new-roles').replaceChildren(...roleBoxes('new person', ['agent']));
  loadPeople().catch(fail);
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('/api/login', {
    method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: $('login-name').value, password: $('login-password').value }),
  });
  if (!r.ok) {
    $('login-error').textContent = 'Wrong user name or password.';
    $('login-error').hidden = false;
    return;
  }
  location.reload();
});

start();
