// The API page: the relay's own OpenAPI description (/api/openapi.json) rendered for people,
// grouped by area, filterable, every operation with its parameters, body and responses. No
// assets from anywhere else: the console works offline.

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** The area an operation belongs to: its first tag, else its path's first segment after /api. */
export function area(path, op) {
  if (op.tags && op.tags.length) return op.tags[0];
  const parts = path.split('/').filter(Boolean);
  if (parts[0] !== 'api' || parts[1] === 'openapi.json') return 'relay';
  if (['login', 'logout', 'me'].includes(parts[1])) return 'sign-in';
  return parts[1] || 'relay';
}

function refName(ref) {
  return ref.split('/').pop();
}

/** A schema as compact text: `{ id: string, media?: "call" | "chat" }`, $refs named and expanded once. */
export function schemaText(schema, components, depth = 0, seen = new Set()) {
  if (!schema) return 'any';
  const pad = '  '.repeat(depth + 1);
  const end = '  '.repeat(depth);
  if (schema.$ref) {
    const name = refName(schema.$ref);
    if (seen.has(name) || !components[name]) return name;
    return name + ' ' + schemaText(components[name], components, depth, new Set([...seen, name]));
  }
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (schema[key]) {
      const join = key === 'allOf' ? ' & ' : ' | ';
      return schema[key].map((s) => schemaText(s, components, depth, seen)).join(join);
    }
  }
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  // OpenAPI 3.1 spells an optional value as a list of types: `["string", "null"]`.
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== 'null');
    const one = types.length === 1 ? schemaText({ ...schema, type: types[0] }, components, depth, seen)
      : types.join(' | ');
    return types.length < schema.type.length ? one + ' | null' : one;
  }
  if (schema.type === 'array') return schemaText(schema.items, components, depth, seen) + '[]';
  if (schema.type === 'object' || schema.properties) {
    const props = Object.entries(schema.properties || {});
    if (!props.length) return 'object';
    const required = new Set(schema.required || []);
    const lines = props.map(([name, s]) => {
      const note = s.description ? '  // ' + s.description : '';
      return pad + name + (required.has(name) ? '' : '?') + ': ' + schemaText(s, components, depth + 1, seen) + note;
    });
    return '{\n' + lines.join('\n') + '\n' + end + '}';
  }
  let text = schema.type || 'any';
  if (schema.format) text += ' (' + schema.format + ')';
  return text;
}

/** Whether an operation needs a sign-in: some security requirement, and none that is empty
 * (`security: []`, or a `{}` among the alternatives, serves anonymous callers). */
function needsSignIn(op, doc) {
  const security = op.security !== undefined ? op.security : doc.security;
  return Array.isArray(security) && security.length > 0 &&
    !security.some((requirement) => Object.keys(requirement).length === 0);
}

function operation(doc, path, method, op) {
  const components = (doc.components && doc.components.schemas) || {};
  const summary = op.summary || op.description || '';
  const body = el('div', { class: 'op-body' });
  if (summary) body.append(el('p', { text: summary }));
  if (op.description && op.description !== summary) body.append(el('p', { text: op.description }));
  body.append(el('p', { class: 'muted', text: needsSignIn(op, doc)
    ? 'Needs a signed-in person: the relay_session cookie or Authorization: Bearer (POST /api/login).'
    : 'Open: no sign-in.' }));
  const params = op.parameters || [];
  if (params.length) {
    const rows = params.map((p) => el('tr', {},
      el('td', {}, el('code', { text: p.name })), el('td', { text: p.in }),
      el('td', { text: p.required ? 'required' : 'optional' }),
      el('td', {}, el('code', { text: schemaText(p.schema, components) })),
      el('td', { text: p.description || '' })));
    body.append(el('h3', { text: 'Parameters' }),
      el('table', {}, el('thead', {}, el('tr', {}, ...['Name', 'In', '', 'Type', ''].map((t) => el('th', { text: t })))),
        el('tbody', {}, ...rows)));
  }
  const content = op.requestBody && op.requestBody.content;
  if (content) {
    body.append(el('h3', { text: 'Request body' + (op.requestBody.required ? '' : ' (optional)') }));
    for (const [type, media] of Object.entries(content)) {
      body.append(el('p', {}, el('code', { text: type })), el('pre', { class: 'schema', text: schemaText(media.schema, components) }));
    }
  }
  const responses = Object.entries(op.responses || {});
  if (responses.length) {
    body.append(el('h3', { text: 'Responses' }), el('table', {}, el('tbody', {}, ...responses.map(([code, r]) => {
      const schema = r.content && Object.values(r.content)[0] && Object.values(r.content)[0].schema;
      return el('tr', {}, el('td', {}, el('code', { text: code })), el('td', { text: r.description || '' }),
        el('td', {}, schema ? el('pre', { class: 'schema', text: schemaText(schema, components) }) : null));
    }))));
  }
  const details = el('details', { class: 'op', 'data-method': method, 'data-path': path },
    el('summary', {}, el('span', { class: 'method ' + method, text: method }), el('span', { class: 'path', text: path }),
      el('span', { class: 'gist', text: summary }), el('span', { class: 'lock', text: needsSignIn(op, doc) ? 'sign-in' : 'open' })),
    body);
  details.dataset.text = (method + ' ' + path + ' ' + summary + ' ' + (op.description || '')).toLowerCase();
  return details;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options', 'head'];

export function render(doc) {
  $('api-title').textContent = (doc.info && doc.info.title) || 'API';
  $('api-description').textContent = ((doc.info && doc.info.description) || '') +
    (doc.info && doc.info.version ? ' (version ' + doc.info.version + ')' : '');
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const name = area(path, item[method]);
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push(operation(doc, path, method, item[method]));
    }
  }
  const sections = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))
    .map(([name, ops]) => el('section', { class: 'group', 'data-area': name }, el('h2', { text: name }), ...ops));
  $('groups').replaceChildren(...sections);
  filter();
}

function filter() {
  const words = $('find').value.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  let total = 0;
  for (const section of document.querySelectorAll('section.group')) {
    let any = false;
    for (const op of section.querySelectorAll('details.op')) {
      total += 1;
      const hit = words.every((w) => op.dataset.text.includes(w));
      op.hidden = !hit;
      if (hit) { any = true; shown += 1; }
    }
    section.hidden = !any;
  }
  $('count').textContent = words.length ? `${shown} of ${total} operations` : `${total} operations`;
}

$('find').addEventListener('input', filter);
fetch('/api/openapi.json')
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error('the relay answered ' + r.status))))
  .then(render)
  .catch((e) => {
    $('error').textContent = 'Could not read the API description: ' + e.message;
    $('error').hidden = false;
  });
