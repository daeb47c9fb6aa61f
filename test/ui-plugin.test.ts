// registerUi over fastify inject: what is served, with which types and headers, and what is not.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import t from 'tap';
import { registerUi, UI_CONTENT_SECURITY_POLICY, UI_DIR } from '../src/api/ui/index.js';

async function app(dir?: string) {
  const a = Fastify();
  await registerUi(a, dir ? { dir } : {});
  await a.ready();
  t.teardown(() => a.close());
  return a;
}

t.test('GET / is the page, under the strict policy', async (t) => {
  const a = await app();
  const res = await a.inject({ method: 'GET', url: '/' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  const csp = String(res.headers['content-security-policy']);
  t.equal(csp, UI_CONTENT_SECURITY_POLICY);
  t.match(csp, /default-src 'self'/);
  t.match(csp, /script-src 'self'(;|$)/, 'scripts from the daemon only: no unsafe-inline, no unsafe-eval');
  t.match(csp, /connect-src 'self'/);
  t.notMatch(csp, /unsafe|\*|https?:/, 'no wildcard, no other origin, no unsafe-*');
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  t.equal(res.headers['x-frame-options'], 'DENY');
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.match(res.body, /<main/);
});

t.test('assets carry their content types', async (t) => {
  const a = await app();
  const types: Record<string, string> = {
    '/ui/app.js': 'text/javascript; charset=utf-8',
    '/ui/format.js': 'text/javascript; charset=utf-8',
    '/ui/style.css': 'text/css; charset=utf-8',
    '/ui/favicon.svg': 'image/svg+xml',
  };
  for (const [url, type] of Object.entries(types)) {
    const res = await a.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
    t.equal(res.headers['content-type'], type, url);
    t.ok(res.headers['content-security-policy'], `${url} has the policy too`);
  }
});

t.test('nothing outside ui/ is reachable', async (t) => {
  const a = await app();
  for (const url of [
    '/ui/missing.js',
    '/ui/../package.json',
    '/ui/..%2Fpackage.json',
    '/ui/%2e%2e/package.json',
    '/ui/',
    '/ui/index.html/x',
    '/ui/.hidden.js',
  ]) {
    const res = await a.inject({ method: 'GET', url });
    t.equal(res.statusCode, 404, url);
    t.notMatch(res.body, /"devDependencies"|<html/, `${url} leaks no file`);
  }
});

t.test('a file added to the folder after start-up is not served (the list is fixed at start)', async (t) => {
  const dir = t.testdir({ 'index.html': '<!doctype html><title>x</title>' });
  const a = await app(dir);
  await fsp.writeFile(path.join(dir, 'late.js'), 'export {};');
  t.equal((await a.inject({ method: 'GET', url: '/ui/late.js' })).statusCode, 404);
  t.equal((await a.inject({ method: 'GET', url: '/ui/index.html' })).statusCode, 200);
});

t.test('a folder without index.html is refused at start-up', async (t) => {
  const dir = t.testdir({ 'app.js': 'export {};' });
  await t.rejects(registerUi(Fastify(), { dir }), { code: 'INTERNAL' });
});

t.test('ETag revalidation answers 304', async (t) => {
  const a = await app();
  const first = await a.inject({ method: 'GET', url: '/ui/app.js' });
  t.equal(first.headers['cache-control'], 'no-cache');
  const etag = String(first.headers.etag);
  const again = await a.inject({ method: 'GET', url: '/ui/app.js', headers: { 'if-none-match': etag } });
  t.equal(again.statusCode, 304);
  t.equal(again.body, '');
});

t.test('the daemon calls it as an ApiExtension (app, view): the view is not taken for options', async (t) => {
  const a = Fastify();
  await registerUi(a, { version: '0.1.0', hub: {} } as unknown as Record<string, never>);
  t.equal((await a.inject({ method: 'GET', url: '/' })).statusCode, 200);
  await a.close();
});

// The policy forbids inline script and styles; a slip would only show as a broken page in a browser.
t.test('the page has no inline script, handlers or styles, and every reference resolves', async (t) => {
  const files = await fsp.readdir(UI_DIR);
  const html = await fsp.readFile(path.join(UI_DIR, 'index.html'), 'utf8');
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    t.match(m[1], /\bsrc="\/ui\/[^"]+"/, 'scripts are files');
    t.equal(m[2]!.trim(), '', 'no inline script body');
  }
  t.notMatch(html, /\son[a-z]+\s*=/i, 'no inline event handlers');
  t.notMatch(html, /\sstyle\s*=/i, 'no style attributes');
  t.notMatch(html, /<style\b/i, 'no style elements');
  t.notMatch(html, /(src|href)="(https?:)?\/\//i, 'no other origin');
  for (const m of html.matchAll(/(?:src|href)="\/ui\/([^"]+)"/g)) t.ok(files.includes(m[1]!), `index.html references ui/${m[1]}`);
  for (const file of files.filter((f) => f.endsWith('.js'))) {
    const js = await fsp.readFile(path.join(UI_DIR, file), 'utf8');
    for (const m of js.matchAll(/from '\.\/([^']+)'/g)) t.ok(files.includes(m[1]!), `${file} imports ./${m[1]}`);
    t.notMatch(js, /\binnerHTML\b|\beval\(|new Function\(/, `${file}: no HTML parsing of data, no eval`);
    t.notMatch(js, /https?:\/\//, `${file}: no absolute URLs`);
  }
});
