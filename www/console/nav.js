// The console's page links, by role: each person sees only the pages its roles allow (the
// relay refuses the rest anyway; this keeps the console from offering what would be refused).
// Every console page includes it; it fills each `nav.pages` and, on a page the roles do not
// allow, replaces the page's content with a plain explanation. A page that signs in without
// loading again dispatches `console-signed-in` on window.

export const PAGES = [
  { href: 'index.html', label: 'Co-browse', roles: ['agent', 'supervisor'] },
  { href: 'inbox.html', label: 'Inbox', roles: ['agent', 'supervisor'] },
  { href: 'agent-desk.html', label: 'Agent desk', roles: ['agent'] },
  { href: 'wallboard.html', label: 'Wallboard', roles: ['supervisor'] },
  { href: 'observe.html', label: 'Observe', roles: ['supervisor'] },
  { href: 'reports.html', label: 'Reports', roles: ['supervisor'] },
  { href: 'settings.html', label: 'Settings', roles: ['admin'] },
  { href: 'api.html', label: 'API', roles: ['agent', 'supervisor', 'admin'] },
];

/** Who is signed in (`{id, name, roles}`), or null; asked once per page load. */
export const me = fetch('/api/me', { credentials: 'same-origin' })
  .then((r) => (r.ok ? r.json() : null))
  .catch(() => null);

/** Whether the signed-in person holds one of `roles`. */
export function holds(person, ...roles) {
  return !!person && roles.some((r) => (person.roles || []).includes(r));
}

function here() {
  const file = location.pathname.split('/').pop() || 'index.html';
  return PAGES.find((p) => p.href === file);
}

function render(person) {
  const current = here();
  // Nobody signed in: no links yet (the page shows its sign-in form).
  const allowed = PAGES.filter((p) => holds(person, ...p.roles));
  for (const nav of document.querySelectorAll('nav.pages')) {
    const name = nav.querySelector('#agent-name');
    nav.replaceChildren(...(name ? [name] : []));
    for (const page of allowed) {
      const a = document.createElement('a');
      a.href = page.href;
      a.textContent = page.label;
      if (page === current) a.setAttribute('aria-current', 'page');
      nav.append(a);
    }
  }
  if (person && current && !holds(person, ...current.roles)) {
    const main = document.querySelector('main');
    if (!main) return;
    const card = document.createElement('section');
    card.className = 'card narrow';
    card.id = 'not-allowed';
    const h = document.createElement('h1');
    h.textContent = `${current.label} is not one of your pages`;
    const p = document.createElement('p');
    p.className = 'muted';
    const yours = (person.roles || []).join(', ') || 'no role';
    p.textContent = `It needs the ${current.roles.join(' or ')} role; you hold ${yours}. Ask an administrator if you need it.`;
    card.append(h, p);
    main.replaceChildren(card);
  }
}

me.then(render);

// A page that signs its person in without loading again says so with this event; the links
// (and the page's own refusal) then follow the roles just signed in.
window.addEventListener('console-signed-in', () => {
  fetch('/api/me', { credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : null))
    .then(render)
    .catch(() => {});
});
