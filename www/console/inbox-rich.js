// Rich messages in the inbox: how a card or carousel and a customer's postback read in the
// conversation (DOM APIs and textContent only: every string came from an agent, a bot or a
// channel), and the Card composer: title, text, image URL and up to three buttons (link or
// postback), one card sent as a card, several added one by one sent as a carousel. The relay
// checks every bound again and its refusal is shown as it words it.

const MAX_CARDS = 10;
let drafts = [];

/** The agent's view of `rich`: each card with its buttons and what they do. */
export function richView(rich) {
  const cards = rich.type === 'carousel' ? rich.cards || [] : rich.card ? [rich.card] : [];
  const box = document.createElement('div');
  box.className = 'cards';
  box.setAttribute('aria-label', cards.length === 1 ? 'Card' : `Carousel of ${cards.length} cards`);
  for (const c of cards) {
    const card = document.createElement('div'); card.className = 'card';
    if (c.image && /^https:\/\//i.test(c.image)) {
      const img = document.createElement('img'); img.src = c.image; img.alt = ''; img.referrerPolicy = 'no-referrer';
      card.appendChild(img);
    }
    const title = document.createElement('strong'); title.textContent = c.title || ''; card.appendChild(title);
    if (c.text) { const p = document.createElement('div'); p.textContent = c.text; card.appendChild(p); }
    for (const b of c.buttons || []) {
      const a = b.action || {};
      const line = document.createElement('div'); line.className = 'card-button';
      line.textContent = a.type === 'link' ? `🔗 ${b.label} → ${a.url}` : `↩ ${b.label} (postback ${a.payload})`;
      card.appendChild(line);
    }
    box.appendChild(card);
  }
  return box;
}

/** The note under a customer's message that answered a card's button. */
export function postbackNote(p) {
  const el = document.createElement('div');
  el.className = 'meta postback';
  el.textContent = `Pressed “${p.label}” (postback ${p.payload})`;
  return el;
}

const $ = (id) => document.getElementById(id);

/** The card being composed, or null when its title is empty. */
function cardOfForm() {
  const title = $('card-title').value.trim();
  if (!title) return null;
  const card = { title };
  const text = $('card-text').value.trim(); if (text) card.text = text;
  const image = $('card-image').value.trim(); if (image) card.image = image;
  card.buttons = [...document.querySelectorAll('#card-form .card-button-row')].flatMap((row) => {
    const label = row.querySelector('.btn-label').value.trim();
    const value = row.querySelector('.btn-value').value.trim();
    if (!label || !value) return [];
    const action = row.querySelector('.btn-kind').value === 'link' ? { type: 'link', url: value } : { type: 'postback', payload: value };
    return [{ label, action }];
  });
  return card;
}

function clearForm() {
  for (const el of document.querySelectorAll('#card-form input, #card-form textarea')) el.value = '';
}

function showDrafts() {
  $('card-drafts').textContent = drafts.length
    ? `${drafts.length} card${drafts.length > 1 ? 's' : ''} in the carousel: ${drafts.map((c) => c.title).join(' · ')}`
    : '';
}

function error(text) { $('card-error').textContent = text; $('card-error').hidden = !text; }

/** Wires the Card composer: `send(body)` posts a message body, `current()` is the conversation. */
export function setUpComposer(send, current) {
  $('card-open').onclick = () => {
    const form = $('card-form');
    form.hidden = !form.hidden;
    $('card-open').setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) $('card-title').focus();
  };
  // Enter in a card field is no submission of the text composer around it.
  $('card-form').addEventListener('keydown', (e) => { if (e.key === 'Enter' && e.target.tagName === 'INPUT') e.preventDefault(); });
  $('card-add').onclick = () => {
    const card = cardOfForm();
    if (!card) { error('A card needs a title.'); return; }
    if (drafts.length >= MAX_CARDS) { error(`A carousel has at most ${MAX_CARDS} cards.`); return; }
    drafts.push(card); clearForm(); error(''); showDrafts();
    $('card-title').focus();
  };
  $('card-send').onclick = async () => {
    const card = cardOfForm();
    const cards = card ? [...drafts, card] : drafts;
    if (!cards.length) { error('A card needs a title.'); return; }
    if (!current()) return;
    const rich = cards.length === 1 ? { type: 'card', card: cards[0] } : { type: 'carousel', cards };
    try {
      await send({ text: $('text').value, rich });
    } catch (err) { error('Not sent: ' + err.message); return; }
    $('text').value = ''; drafts = []; clearForm(); showDrafts(); error('');
    // The text went with the card: the customer stops seeing "typing" as a plain send does.
    $('text').dispatchEvent(new Event('input'));
    $('card-form').hidden = true; $('card-open').setAttribute('aria-expanded', 'false');
  };
}
