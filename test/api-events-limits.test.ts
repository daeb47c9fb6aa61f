// Capped resources of GET /v1/events and GET /v1/bundles (issue 11 §4), over real sockets: a client cap,
// clients that never read dropped instead of buffered, readers served in full, bundles answered a page at a time.
import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { apiRequest } from '../src/api/client.js';
import { AirlockError, type Failure } from '../src/errors.js';
import type { BundlePage } from '../src/pipeline/decisions.js';
import { eventually } from './helpers/daemon.js';
import { dropBundle, startInProcess } from './helpers/in-process.js';

/** A client that sends its request and never reads a byte: its socket is paused, so the kernel buffers fill. */
function nonReader(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
      s.pause();
      resolve(s);
    });
    s.on('error', () => {});
    s.on('connect', () => undefined).once('error', reject);
  });
}

/** A client that reads everything; `text()` is what it got so far. */
function reader(url: string): Promise<{ text(): string; close(): void }> {
  return new Promise((resolve, reject) => {
    const chunks: string[] = [];
    const req = http.get(`${url}/v1/events`, (res) => {
      res.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
      resolve({ text: () => chunks.join(''), close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

async function metric(url: string, name: string): Promise<number> {
  const text = (await apiRequest<string>(url, '/metrics')).body;
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
}

t.test('more event-stream clients than limits.eventClients: 503 TOO_MANY_CLIENTS, and room again once one leaves', async (t) => {
  const h = await startInProcess(t, { limits: { eventClients: 3 } });
  const clients = await Promise.all([reader(h.url), reader(h.url), reader(h.url)]);
  await eventually(() => h.daemon.hub.size === 3, 'three subscribed');
  const over = await apiRequest<{ code: string }>(h.url, '/v1/events');
  t.same([over.status, over.body.code], [503, 'TOO_MANY_CLIENTS']);
  t.equal(h.daemon.hub.size, 3);
  clients[0]!.close();
  await eventually(() => h.daemon.hub.size === 2, 'one left');
  const again = await reader(h.url);
  await eventually(() => h.daemon.hub.size === 3, 'a new one is accepted');
  for (const c of [...clients, again]) c.close();
});

t.test('60 SSE clients that never read are dropped during 40 junk drops; the readers get every event', async (t) => {
  const h = await startInProcess(t, { limits: { eventClients: 100, eventBufferBytes: 512 * 1024 } });
  // Each junk drop is rejected with 100 failures of ~1 KB: ~200 KB of events (the bundle and its audit event) per client.
  const junk: Failure[] = Array.from({ length: 5000 }, (_, i) => ({ code: 'BAD_PATH', path: `p/${i}`, message: `${i} ${'x'.repeat(1000)}` }));
  h.installer.outcomeFor = () => AirlockError.fromFailures(junk);
  const readers = await Promise.all([reader(h.url), reader(h.url)]);
  const silent = await Promise.all(Array.from({ length: 60 }, () => nonReader(h.port!)));
  t.teardown(() => silent.forEach((s) => s.destroy()));
  await eventually(() => h.daemon.hub.size === 62, 'all subscribed');
  const heapBefore = process.memoryUsage().heapUsed;

  for (let i = 0; i < 40; i++) dropBundle(h.drop, `junk-${i}`);
  await eventually(
    async () => (await apiRequest<BundlePage>(h.url, '/v1/bundles')).body.bundles.filter((b) => b.state === 'rejected').length === 40,
    'all rejected',
    60000,
  );
  await eventually(() => h.daemon.hub.size === 2, 'the non-readers dropped', 30000);
  t.equal(await metric(h.url, 'airlock_event_clients_dropped_total'), 60);
  t.equal(await metric(h.url, 'airlock_event_clients'), 2);
  // Without the bound the daemon held ~4 MB for each of the 60 (what the kernel did not take: over 250 MB);
  // with it, at most the budget and one message each.
  const grown = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  t.ok(grown < 150, `heap grew ${grown.toFixed(0)} MB`);

  await eventually(
    () => readers.every((r) => (r.text().match(/"state":"rejected"/g) ?? []).length >= 40),
    'every rejection reached the readers',
    30000,
  );
  for (const r of readers) {
    const text = r.text();
    for (let i = 0; i < 40; i++) t.ok(text.includes(`"location":"${h.drop}/junk-${i}"`), `reader saw junk-${i}`);
    t.match(text, /"failureCount":5000/);
    r.close();
  }
});

t.test('GET /v1/bundles answers a page at a time, newest first, with a cursor for the next', async (t) => {
  const h = await startInProcess(t);
  for (let i = 0; i < 5; i++) dropBundle(h.drop, `b${i}`);
  await eventually(
    async () => (await apiRequest<BundlePage>(h.url, '/v1/bundles')).body.bundles.filter((b) => b.state === 'installed').length === 5,
    'installed',
  );
  const first = await apiRequest<BundlePage>(h.url, '/v1/bundles?limit=2');
  t.equal(first.status, 200);
  t.equal(first.body.bundles.length, 2);
  t.equal(first.body.total, 5);
  t.type(first.body.next, 'string');
  const seen = [...first.body.bundles];
  for (let next = first.body.next; next;) {
    const page = await apiRequest<BundlePage>(h.url, `/v1/bundles?limit=2&before=${encodeURIComponent(next)}`);
    seen.push(...page.body.bundles);
    next = page.body.next;
  }
  t.equal(seen.length, 5);
  t.same(
    seen.map((b) => b.detectedAt),
    [...seen]
      .map((b) => b.detectedAt)
      .sort()
      .reverse(),
    'newest first',
  );
  t.equal(new Set(seen.map((b) => b.id)).size, 5, 'each once');
  const all = await apiRequest<BundlePage>(h.url, '/v1/bundles');
  t.equal(all.body.bundles.length, 5, 'the default page holds them all');
  t.notOk(all.body.next);
  for (const bad of ['?limit=0', '?limit=1001', '?before=junk', '?before=%0a~x']) {
    const r = await apiRequest<{ code: string }>(h.url, `/v1/bundles${bad}`);
    t.same([r.status, r.body.code], [400, 'BAD_REQUEST'], bad);
  }
});
