// The one canonical serialisation both sides of a fidelity test are put through: the customer's
// live page and the agent's mirror are walked by this same function, and the two strings must be
// equal. It states what "the mirror shows the page" means:
// - our overlay ([data-cobrowse-overlay]) is excluded;
// - masked text and form values show as their mask (each non-space character becomes `*`):
//   on the customer's side the masking rules are applied here (markup, the site's selectors,
//   password / cc-* / hidden inputs, card-named controls); on the mirror's side they already were;
// - blocked elements ([data-cobrowse-block] or the site's block selectors) show as a box line,
//   without children, `style` or the block marker (the mirror sizes and marks its boxes);
// - what the mirror deliberately disarms is left out on both sides: script attributes and
//   content, `on*` handlers, `javascript:` URLs, `meta http-equiv`, an iframe's `src`/`srcdoc`;
// - URL attributes compare as absolute URLs; CSSOM rules, adopted sheets, open shadow roots,
//   same-origin frame documents and form state are included.
const URL_ATTRS = new Set(['src', 'href', 'xlink:href', 'poster', 'background', 'action', 'data', 'formaction']);

const mask = (t) => t.replace(/\S/gu, '*');

// The mirror styles the customer's :hover, :focus and :target through attributes it sets
// (`data-cb-*`, see `crates/cobrowse-wasm/src/mirror/pseudo.rs`): on its side they are left out,
// and its rewritten selectors read as the pseudo-classes they stand for.
const PSEUDO = [['focus-visible'], ['focus-within'], ['focus'], ['hover'], ['target']];
const unmark = (css) => PSEUDO.reduce((t, [p]) => t.split(`[data-cb-${p}]`).join(`:${p}`), css);

function rules(sheet, side) {
  try {
    return [...sheet.cssRules].map((r) => (side === 'mirror' ? unmark(r.cssText) : r.cssText));
  } catch (e) { return ['<unreadable>']; }
}

function attrs(el, opts, boxed) {
  const tag = el.localName;
  const out = [];
  if (tag === 'script') return out;
  for (const a of el.attributes) {
    const name = a.name;
    const lower = name.toLowerCase();
    let value = a.value;
    if (lower.startsWith('on') || /^\s*(javascript|vbscript):/i.test(value)) continue;
    if (lower === 'http-equiv' || lower === 'srcdoc' || (tag === 'iframe' && lower === 'src')) continue;
    if (boxed && (lower === 'style' || lower === 'data-cobrowse-block')) continue;
    if (opts.side === 'mirror' && lower.startsWith('data-cb-')) continue;
    if (URL_ATTRS.has(lower) && value && !value.startsWith('#')) {
      try { value = new URL(value, opts.base).href; } catch (e) { /* keep as is */ }
    }
    if (opts.side === 'customer' && opts.maskedValue && lower === 'value') value = mask(value);
    out.push(`${name}=${JSON.stringify(value)}`);
  }
  return out.sort();
}

// The card, IBAN and national-id names of `crates/cobrowse-wasm/src/card_field.rs`: runs of up
// to three whole words, joined.
const CARD_WORDS = new Set(["ccnumber", "ccnum", "ccno", "cardnumber", "cardnum", "cardno", "creditcard", "debitcard", "cvv", "cvv2", "cvc", "cvc2", "csc", "cvn", "ccv", "cccvv", "cccvc", "cccsc", "cardcvv", "cardcvc", "securitycode", "ccexp", "ccexpiry", "expiry", "expdate", "expmonth", "expyear", "expirationdate", "expirationmonth", "expirationyear", "ccname", "cardholder", "cardholdername", "nameoncard", "iban", "ssn", "socialsecurity", "nationalid", "nationalinsurance", "nino", "bsn", "sin"]);
function cardNamed(el) {
  if (!['input', 'select', 'textarea'].includes(el.localName) || el.closest('[data-cobrowse-unmask]')) return false;
  const names = ['id', 'name', 'autocomplete', 'aria-label', 'placeholder'].map((n) => el.getAttribute(n) || '');
  names.push([...(el.labels || [])].map((l) => l.textContent).join(' '));
  return names.some((n) => {
    const w = n.slice(0, 256).replace(/([a-z0-9])([A-Z])|([A-Z])([A-Z][a-z])/g, '$1$3 $2$4')
      .toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
    return w.some((_, i) => [1, 2, 3].some((k) => i + k <= w.length && CARD_WORDS.has(w.slice(i, i + k).join(''))));
  });
}

function selectorMatch(el, list) {
  return list.some((s) => { try { return el.matches(s); } catch (e) { return false; } });
}

function formState(el, masked) {
  const tag = el.localName;
  if (tag === 'input') {
    const type = (el.type || '').toLowerCase();
    if (type === 'checkbox' || type === 'radio') return ` checked=${el.checked}`;
    return ` value=${JSON.stringify(masked ? mask(el.value) : el.value)}`;
  }
  if (tag === 'textarea' || tag === 'select') return ` value=${JSON.stringify(masked ? mask(el.value) : el.value)}`;
  return '';
}

/**
 * Serialises `doc` (a Document). `opts.side` is 'customer' or 'mirror'; `opts.mask` and
 * `opts.block` are the site's selector lists.
 */
export function canonical(doc, opts = {}) {
  const o = { side: opts.side || 'mirror', mask: opts.mask || [], block: opts.block || [] };
  const lines = [];
  const walk = (node, depth, masked, base) => {
    const pad = '  '.repeat(depth);
    switch (node.nodeType) {
      case Node.DOCUMENT_NODE:
      case Node.DOCUMENT_FRAGMENT_NODE: {
        const adopted = (node.adoptedStyleSheets || []).map((sh) => rules(sh, o.side));
        const kind = node.nodeType === Node.DOCUMENT_NODE ? (depth ? '#frame-document' : '#document') : '#shadow-root';
        lines.push(`${pad}${kind}${adopted.length ? ` adopted=${JSON.stringify(adopted)}` : ''}`);
        for (const c of node.childNodes) walk(c, depth + 1, masked, node.baseURI || base);
        return;
      }
      case Node.DOCUMENT_TYPE_NODE: lines.push(`${pad}<!doctype ${node.name}>`); return;
      case Node.COMMENT_NODE: lines.push(`${pad}<!--${JSON.stringify(o.side === 'customer' && masked ? mask(node.data) : node.data)}-->`); return;
      case Node.TEXT_NODE: {
        const inStyle = node.parentNode && node.parentNode.localName === 'style';
        const data = o.side === 'mirror' && inStyle ? unmark(node.data) : node.data;
        lines.push(`${pad}${JSON.stringify(o.side === 'customer' && masked ? mask(data) : data)}`);
        return;
      }
      case Node.ELEMENT_NODE: break;
      default: return;
    }
    const el = node;
    if (el.hasAttribute('data-cobrowse-overlay')) return;
    const tag = el.localName;
    const boxed = el.hasAttribute('data-cobrowse-block') || selectorMatch(el, o.block);
    const type = (el.getAttribute('type') || '').toLowerCase();
    const selfMasked = masked || el.hasAttribute('data-cobrowse-mask') || selectorMatch(el, o.mask)
      || (tag === 'input' && (type === 'password' || type === 'hidden'))
      || /^cc-/i.test(el.getAttribute('autocomplete') || '');
    const ns = el.namespaceURI === 'http://www.w3.org/2000/svg' ? 'svg:' : el.namespaceURI === 'http://www.w3.org/1998/Math/MathML' ? 'math:' : '';
    const valueMasked = selfMasked || cardNamed(el);
    let line = `${pad}<${ns}${tag}${attrs(el, { ...o, base, maskedValue: valueMasked }, boxed).map((a) => ` ${a}`).join('')}>`;
    if (boxed) { lines.push(`${line} box`); return; }
    line += formState(el, o.side === 'customer' && valueMasked);
    if (tag === 'option') line += ` selected=${el.selected}`;
    if ((tag === 'style' || (tag === 'link' && /stylesheet/i.test(el.rel || ''))) && el.sheet && tag === 'style') {
      line += ` rules=${JSON.stringify(rules(el.sheet, o.side))}`;
    }
    lines.push(line);
    if (tag === 'script') return;
    if (el.shadowRoot) walk(el.shadowRoot, depth + 1, selfMasked, base);
    if (tag === 'iframe') {
      let inner = null;
      try { inner = el.contentDocument; } catch (e) { inner = null; }
      if (inner && inner.documentElement) walk(inner, depth + 1, selfMasked, inner.baseURI);
      return;
    }
    for (const c of el.childNodes) walk(c, depth + 1, selfMasked, base);
  };
  walk(doc, 0, false, doc.baseURI);
  return lines.join('\n');
}

/** The site's selector lists, as the capture reads them. */
export async function siteLists(site = 'demo') {
  try {
    const r = await fetch(`/sites/${site}.json`);
    const c = r.ok ? await r.json() : {};
    return { mask: c.mask || [], block: c.block || [] };
  } catch (e) { return { mask: [], block: [] }; }
}
