// make test-npm's browser step: loads the bundled scratch page (served by a real relay) in
// Debian's Chromium and waits for what the page was told; prints it, and exits non-zero
// unless it is the relay's refusal of the key. Usage: node check.mjs URL
import { chromium } from 'playwright-core';

const url = process.argv[2];
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu'],
});
let said = 'nothing';
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(r.status() + ' ' + r.url());
  });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'loading',
    null, { timeout: 30000 }).catch(() => {});
  said = await page.textContent('#out');
  if (errors.length) console.error('page errors: ' + errors.join(' | '));
} finally {
  await browser.close();
}
console.log(said);
process.exit(said === 'refused: unknown key' ? 0 : 1);
