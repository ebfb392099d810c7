/*! Rich messages in the web messaging widget: a card (image, title, text, buttons) or a
 * carousel of cards side by side (scrolled horizontally), built with DOM APIs and textContent
 * only, since every string in a card came from an agent, a bot or a channel. A link button
 * opens its http(s) URL in a new tab (rel="noopener noreferrer"; the relay refuses any other
 * scheme, and so does this file); a postback button calls onPostback(payload, label), which
 * the widget sends as the customer's answer. */

export const RICH_CSS = `
.msg.rich { background: none; padding: 0; max-width: 100%; width: 100%; }
.msg.rich > div:first-child:empty { display: none; }
.cards { display: flex; gap: 8px; overflow-x: auto; scroll-snap-type: x mandatory; padding: 2px 2px 6px; }
.card { flex: 0 0 210px; max-width: 100%; scroll-snap-align: start; border: 1px solid #d1d5db; border-radius: 10px;
  background: #fff; color: #1f2937; overflow: hidden; display: flex; flex-direction: column; white-space: normal; }
.cards.single .card { flex-basis: 100%; }
.card img { width: 100%; height: 120px; object-fit: cover; margin: 0; border-radius: 0; background: #f3f4f6; }
.card h3 { font-size: 14px; margin: 8px 10px 2px; }
.card p { margin: 0 10px 8px; font-size: 13px; color: #4b5563; }
.card .actions { display: flex; flex-direction: column; margin-top: auto; border-top: 1px solid #e5e7eb; }
.card .actions a, .card .actions button { display: block; text-align: center; padding: 7px 10px; font: inherit;
  color: #2563eb; background: #fff; border: 0; border-top: 1px solid #f3f4f6; cursor: pointer; text-decoration: none; }
.card .actions :first-child { border-top: 0; }
.card .actions button[aria-pressed="true"] { background: #eff6ff; font-weight: 600; }
`;

const WEB_URL = /^https?:\/\/[^\s]/i;

/** The element showing `rich` ({type: 'card', card} or {type: 'carousel', cards}). */
export function richElement(rich, { onPostback }) {
  const cards = rich.type === 'carousel' ? rich.cards || [] : rich.card ? [rich.card] : [];
  const box = document.createElement('div');
  box.className = 'cards' + (cards.length === 1 ? ' single' : '');
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', cards.length === 1 ? 'Card' : `Carousel of ${cards.length} cards`);
  if (cards.length > 1) box.tabIndex = 0;
  for (const c of cards) box.appendChild(cardElement(c, onPostback));
  return box;
}

function cardElement(c, onPostback) {
  const el = document.createElement('div');
  el.className = 'card';
  el.setAttribute('role', 'group');
  el.setAttribute('aria-label', c.title || 'Card');
  if (c.image && /^https:\/\//i.test(c.image)) {
    const img = document.createElement('img');
    img.src = c.image; img.alt = ''; img.loading = 'lazy'; img.referrerPolicy = 'no-referrer';
    el.appendChild(img);
  }
  const title = document.createElement('h3'); title.textContent = c.title || ''; el.appendChild(title);
  if (c.text) { const p = document.createElement('p'); p.textContent = c.text; el.appendChild(p); }
  const buttons = (c.buttons || []).map((b) => buttonElement(b, onPostback)).filter(Boolean);
  if (buttons.length) {
    const actions = document.createElement('div'); actions.className = 'actions';
    actions.append(...buttons);
    el.appendChild(actions);
  }
  return el;
}

function buttonElement(b, onPostback) {
  const action = b.action || {};
  if (action.type === 'link') {
    if (!WEB_URL.test(action.url || '')) return null;
    const a = document.createElement('a');
    a.href = action.url; a.target = '_blank'; a.rel = 'noopener noreferrer';
    a.textContent = b.label;
    return a;
  }
  if (action.type === 'postback') {
    const button = document.createElement('button');
    button.type = 'button'; button.className = 'postback'; button.textContent = b.label;
    button.dataset.payload = action.payload;
    button.onclick = () => {
      button.setAttribute('aria-pressed', 'true');
      onPostback(action.payload, b.label);
    };
    return button;
  }
  return null;
}
