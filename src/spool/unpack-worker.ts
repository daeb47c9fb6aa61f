// Worker-thread entry: unpacks one spooled split bundle as its parts arrive (unpacker.ts). The daemon announces
// each part spooled ({type: 'part'}) and may stop it ({type: 'stop'}); it answers with UnpackMessages.
import { parentPort, workerData } from 'node:worker_threads';
import { toAirlockError } from '../errors.js';
import { PartsFeed, unpackSpool, type UnpackMessage, type UnpackRequest } from './unpacker.js';

const req = workerData as UnpackRequest;
const feed = new PartsFeed(req.spooled);
const controller = new AbortController();
const post = (m: UnpackMessage) => parentPort?.postMessage(m);

parentPort?.on('message', (m: { type: string; name?: string }) => {
  if (m.type === 'part' && m.name) feed.add(m.name);
  if (m.type === 'stop') {
    controller.abort();
    feed.wakeAll();
  }
});

unpackSpool(req, feed, post, controller.signal)
  .catch((err: unknown) => {
    const e = toAirlockError(err);
    post({ type: 'failed', code: e.code, message: e.message });
  })
  .finally(() => parentPort?.close());
