// Patches the page's prototypes so capture sees what no observer reports: CSSOM rule changes,
// adopted stylesheet assignments, values set by script, pushState/replaceState routing, and
// open shadow roots attached to elements already in the page (a component defined late).
// Installed once per window; `sink(kind, target, index)` is the current session's callback.
// Kinds: 1 insertRule, 2 deleteRule, 3 whole sheet changed (or disabled, or enabled again),
// 4 adoptedStyleSheets set,
// 5 form value set by script, 6 history navigation, 7 open shadow root attached.
// Sheets that go whole at the next flush (the capture said so, `markWhole`): their rule changes
// until then are not reported, so a CSS-in-JS library filling a new sheet with thousands of
// insertRule calls crosses into wasm once. The shell empties it at every flush and snapshot.
let whole = new WeakSet();
export function markWhole(sheet) { whole.add(sheet); }
export function clearWhole() { whole = new WeakSet(); }

export function installHooks(win, sink) {
  win.__cobrowseSink = sink;
  if (win.__cobrowseHooked) return;
  win.__cobrowseHooked = true;
  const call = (kind, target, index) => {
    if (kind <= 3 && whole.has(target)) return;
    const s = win.__cobrowseSink;
    if (s) { try { s(kind, target, index); } catch (e) { /* capture must never break the page */ } }
  };
  const wrap = (proto, name, after) => {
    const orig = proto && proto[name];
    if (typeof orig !== 'function') return;
    proto[name] = function () { const r = orig.apply(this, arguments); after(this, r, arguments); return r; };
  };
  const S = win.CSSStyleSheet && win.CSSStyleSheet.prototype;
  wrap(S, 'insertRule', (sheet, i) => call(1, sheet, i));
  wrap(S, 'deleteRule', (sheet, _, a) => call(2, sheet, a[0] >>> 0));
  wrap(S, 'replaceSync', (sheet) => call(3, sheet, 0));
  wrap(S, 'replace', (sheet, p) => p.then(() => call(3, sheet, 0), () => {}));
  wrap(S, 'addRule', (sheet) => call(3, sheet, 0));
  wrap(S, 'removeRule', (sheet) => call(3, sheet, 0));
  const G = win.CSSGroupingRule && win.CSSGroupingRule.prototype;
  wrap(G, 'insertRule', (rule) => rule.parentStyleSheet && call(3, rule.parentStyleSheet, 0));
  wrap(G, 'deleteRule', (rule) => rule.parentStyleSheet && call(3, rule.parentStyleSheet, 0));
  const setter = (proto, prop, after) => {
    const d = proto && Object.getOwnPropertyDescriptor(proto, prop);
    if (!d || !d.set) return;
    Object.defineProperty(proto, prop, {
      configurable: true, enumerable: d.enumerable, get: d.get,
      set(v) { d.set.call(this, v); after(this); },
    });
  };
  for (const C of [win.Document, win.ShadowRoot]) {
    setter(C && C.prototype, 'adoptedStyleSheets', (scope) => call(4, scope, 0));
  }
  // A theme switcher's `sheet.disabled = true`: no observer hears of it.
  setter(win.StyleSheet && win.StyleSheet.prototype, 'disabled', (sheet) => call(3, sheet, 0));
  const value = (el) => call(5, el, 0);
  setter(win.HTMLInputElement.prototype, 'value', value);
  setter(win.HTMLInputElement.prototype, 'checked', value);
  setter(win.HTMLTextAreaElement.prototype, 'value', value);
  setter(win.HTMLSelectElement.prototype, 'value', value);
  setter(win.HTMLSelectElement.prototype, 'selectedIndex', value);
  setter(win.HTMLOptionElement.prototype, 'selected', (o) => o.parentNode && call(5, o.closest('select'), 0));
  const E = win.Element && win.Element.prototype;
  wrap(E, 'attachShadow', (host, root) => root && root.mode === 'open' && call(7, host, 0));
  wrap(win.History.prototype, 'pushState', () => call(6, null, 0));
  wrap(win.History.prototype, 'replaceState', () => call(6, null, 0));
}

// Reads a rule list's texts in one call: none for a disabled sheet, which applies none. The
// texts come `\0`-joined in one string (one string across the boundary, not one per rule; the
// CSS parser turns every NUL into U+FFFD, so no rule's text holds one), or as an array if one
// does all the same; null for a sheet whose rules cannot be read (cross-origin).
export function ruleTexts(sheet) {
  if (sheet.disabled) return '';
  let texts;
  try { texts = Array.from(sheet.cssRules, (r) => r.cssText); } catch (e) { return null; }
  return texts.some((t) => t.includes('\0')) ? texts : texts.join('\0');
}

// The adopted sheets of a document or shadow root.
export function adoptedOf(scope) {
  const a = scope.adoptedStyleSheets;
  return a ? Array.from(a) : [];
}

// Boundary batching (each call across the wasm boundary costs more than the work it does):
// an element's namespace, local name, scroll offset (when asked and not at the origin; never
// for the top document's scrolling element, whose offset is the window's) and attributes as
// one string, `\0`-separated: `<h|s|m><flags><localName>[\x01x,y]\0name\0value...`, where
// flags is a digit: +1 it hosts an open shadow root, +2 it has child nodes (so the caller asks
// for neither when they are absent).
const SVG = 'http://www.w3.org/2000/svg';
const MATHML = 'http://www.w3.org/1998/Math/MathML';
export function describeElement(el, withScroll) {
  const ns = el.namespaceURI;
  let s = (ns === SVG ? 's' : ns === MATHML ? 'm' : 'h')
    + ((el.shadowRoot ? 1 : 0) + (el.firstChild ? 2 : 0)) + el.localName;
  if (withScroll && el !== document.scrollingElement) {
    const x = el.scrollLeft, y = el.scrollTop;
    if (x || y) s += '\x01' + Math.round(x) + ',' + Math.round(y);
  }
  const a = el.attributes;
  for (let i = 0; i < a.length; i++) {
    const v = a[i].value;
    // A value holding the separator (a script can set one) is escaped, its name marked with
    // `=`, which no attribute name holds: `\x020` stands for `\0` and `\x02\x02` for `\x02`.
    s += v.includes('\0')
      ? '\0=' + a[i].name + '\0' + v.replace(/[\0\x02]/g, (c) => (c === '\0' ? '\x020' : '\x02\x02'))
      : '\0' + a[i].name + '\0' + v;
  }
  return s;
}

// A node as a visit first needs it, in one call: `e` and `describeElement`'s string, `t` or `c`
// and a text's or comment's data, `D` a document, `d` a doctype, `o` anything else. Unless `o`,
// the node is also given `id` in `ids` (the id the visit assigns if it keeps the node), which
// saves the visit a second call per node.
export function describeNode(node, withScroll, ids, id) {
  let s;
  switch (node.nodeType) {
    case 1: s = 'e' + describeElement(node, withScroll); break;
    case 3: s = 't' + node.data; break;
    case 8: s = 'c' + node.data; break;
    case 9: s = 'D'; break;
    case 10: s = 'd'; break;
    default: return 'o';
  }
  ids.set(node, id);
  return s;
}

// Inputs that held a password at some point, for the life of the page (not of one capture, so
// a capture started later still masks a password the "show password" toggle made plain text).
const secrets = new WeakSet();
export function markSecret(node) { secrets.add(node); }
export function wasSecret(node) { return secrets.has(node); }

// The text of a form control's labels, bounded: only read to decide whether it is a card field.
export function labelText(el) {
  let t = '';
  for (const l of el.labels || []) t += l.textContent + ' ';
  return t.slice(0, 256);
}

// The ids (in `ids`) of the elements of a document or shadow root that match a selector list,
// in one query; none if the list does not parse.
export function selectedIds(scope, selectors, ids) {
  const out = [];
  try {
    for (const el of scope.querySelectorAll(selectors)) {
      const id = ids.get(el);
      if (id !== undefined) out.push(id);
    }
  } catch (e) { /* an invalid list matches nothing, as Element.matches would say */ }
  return new Uint32Array(out);
}

// Observer records reduced to what capture needs: `(kind, id)` pairs for targets that have an
// id (1 child list, 3 text, 2 attribute with the attribute name's index in the second result
// shifted in above two bits: `2 | index << 2`) and the distinct attribute names, `\0`-joined.
export function classifyRecords(records, ids) {
  const out = new Uint32Array(records.length * 2);
  const names = [];
  let k = 0, last = '', lastAt = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const id = ids.get(r.target);
    if (id === undefined) continue;
    if (r.type === 'attributes') {
      const name = r.attributeName;
      if (name !== last || !names.length) {
        lastAt = names.indexOf(name);
        if (lastAt < 0) lastAt = names.push(name) - 1;
        last = name;
      }
      out[k++] = 2 | (lastAt << 2);
    } else {
      out[k++] = r.type === 'childList' ? 1 : 3;
    }
    out[k++] = id;
  }
  return [out.subarray(0, k), names.join('\0')];
}

// Attribute values of many elements in one call (a flush reads thousands): `names` holds one
// name per node, `\0`-joined; the result is one entry per node, each followed by `\0`: `+value`,
// or `-` for an absent attribute. `null` if a value holds a `\0` itself (the caller then reads
// them one by one).
export function attributeValues(nodes, names) {
  const n = names.split('\0');
  let s = '';
  for (let i = 0; i < nodes.length; i++) {
    const v = nodes[i].getAttribute(n[i]);
    if (v === null) s += '-\0';
    else if (v.includes('\0')) return null;
    else s += '+' + v + '\0';
  }
  return s;
}

// Agent input as a person's events, one call each (a typed init dictionary costs the package a
// binding per field): `kind` 0 Event, 1 MouseEvent, 2 PointerEvent (a primary mouse), 3
// KeyboardEvent (`modifiers`: 1 shift, 2 ctrl, 4 alt, 8 meta). All bubble and are composed;
// all but plain events are cancelable. Returns false if a handler cancelled it or it could not
// be made.
export function fireEvent(el, kind, type, x, y, button, key, modifiers) {
  const init = { bubbles: true, composed: true, cancelable: kind > 0 };
  let C = Event;
  if (kind === 1 || kind === 2) {
    Object.assign(init, { clientX: x, clientY: y, button });
    C = kind === 1 ? MouseEvent : PointerEvent;
    if (kind === 2) Object.assign(init, { pointerType: 'mouse', isPrimary: true });
  } else if (kind === 3) {
    Object.assign(init, {
      key, shiftKey: !!(modifiers & 1), ctrlKey: !!(modifiers & 2),
      altKey: !!(modifiers & 4), metaKey: !!(modifiers & 8),
    });
    C = KeyboardEvent;
  }
  try { return el.dispatchEvent(new C(type, init)); } catch (e) { return false; }
}

// What an agent's click (`enter` false) or Enter (true) on `el` reaches besides `el`, for the
// page's gate in Rust to judge: [the control of the label `el` is in, or null; the form it
// submits, or null; where that form goes; the URL of the link it follows, or null; every
// submit button of that form, wherever it is (`form=` ties buttons outside to it)].
export function reachOf(el, enter) {
  const label = !enter && el.closest('label');
  const c = label && label.control;
  const control = c && c !== el && !c.contains(el) ? c : null;
  const submits = (b) => b.form && (b.type === 'submit' || b.type === 'image');
  let form = enter ? el.form : null;
  let by = null;
  const b = !enter && (control || el).closest('button, input');
  if (b && submits(b)) { form = b.form; by = b; }
  const action = form ? (by && by.hasAttribute('formaction') ? by.formAction : form.action) : '';
  const buttons = form
    ? Array.from(form.getRootNode().querySelectorAll('button, input')).filter((x) => x.form === form && submits(x))
    : [];
  const a = !enter && el.closest('a, area');
  const href = a && (a.getAttribute('href') ?? a.getAttributeNS('http://www.w3.org/1999/xlink', 'href'));
  let link = null;
  if (href != null) { try { link = new URL(href, a.baseURI).href; } catch (e) { link = ''; } }
  return [control, form || null, action, link, buttons];
}

// The URL of the session history entry `step` leads to (-1 back, 1 forward) as the Navigation
// API lists it (only this document's origin's entries), or null when that is not known.
// With `go`, goes there: the API's back() and forward() go to that entry and nowhere else.
export function historyStep(step, go) {
  const n = window.navigation;
  const at = n && n.currentEntry ? n.currentEntry.index + step : -1;
  const entry = at >= 0 ? n.entries()[at] : null;
  if (!entry || !go) return entry ? entry.url : null;
  try {
    const r = step < 0 ? n.back() : n.forward();
    r.committed.catch(() => {}); r.finished.catch(() => {});
    return entry.url;
  } catch (e) { return null; }
}
