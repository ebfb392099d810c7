// What both capture scripts (capture.mjs, profile.mjs) stand on: a static server for www/
// (with rrweb's recorder at /rrweb.js and the package at /pkg from `pkg`, www/pkg by default)
// and Debian's headless Chromium. `close()` stops both.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const www = path.resolve(here, '../www');
const rrwebFile = path.join(here, 'node_modules/rrweb/dist/rrweb.umd.min.cjs');
const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.cjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export { median };

export async function start({ pkg = path.join(www, 'pkg') } = {}) {
  const server = http.createServer((req, res) => {
    const url = path.normalize(new URL(req.url, 'http://x').pathname).replace(/^(\.\.[/\\])+/, '');
    const file = url === '/rrweb.js' ? rrwebFile
      : url.startsWith('/pkg/') ? path.join(pkg, url.slice(5)) : path.join(www, url);
    fs.readFile(file, (err, body) => {
      if (err) { res.writeHead(404); return res.end(); }
      res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
      res.end(body);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const close = async () => {
    await browser.close();
    server.close();
  };
  return { origin, browser, close };
}
