// `inventory`: what the store holds, for `pack --against` on the connected side. A hint, never trusted.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { schemaProblems } from '../util/schemas.js';
import { listBlobs } from './content.js';
import { readState } from './state-file.js';
import { keptDeployments } from './state.js';
import { assertStoreShape } from './store-dir.js';

export interface Inventory {
  schema: 'airlock.inventory/v1';
  created: string;
  content: Array<{ sha256: string; size: number }>;
  bundles: Array<{ id: string; name: string; channel: string; sequence: number; manifestDigest: string }>;
}

export async function buildInventory(store: string, now = new Date()): Promise<Inventory> {
  const abs = path.resolve(store);
  await assertStoreShape(abs, true);
  const state = await readState(abs);
  const content: Inventory['content'] = [];
  for await (const b of listBlobs(abs)) if (b.problem === undefined) content.push({ sha256: b.sha256, size: b.size });
  const inventory: Inventory = {
    schema: 'airlock.inventory/v1',
    created: now.toISOString(),
    content,
    bundles: keptDeployments(state).map((d) => ({
      id: d.bundleId,
      name: d.name,
      channel: d.channel,
      sequence: d.sequence,
      manifestDigest: d.manifestDigest,
    })),
  };
  const problems = schemaProblems('inventory', inventory);
  if (problems.length > 0)
    throw new AirlockError('INTERNAL', `inventory fails its schema: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`);
  return inventory;
}
