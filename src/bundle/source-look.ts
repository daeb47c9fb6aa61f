// A glance at what a pack SOURCE looks like (a NIM cache, a model store, a model folder), from a few names at its
// top: bounded work, nothing read but directory listings. The verdict on it is deployable.ts's.
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export interface SourceLook {
  /** evidence of a NIM cache: `ngc/hub/models--…` or `huggingface/hub/models--…` */
  nimCache?: string;
  /** evidence of a model store (create-model-store's output): `trtllm_engine/` */
  modelStore?: string;
  /** evidence of a model folder NIM_MODEL_PATH can serve: `config.json` with weights beside it */
  modelDir?: string;
}

const CACHE_HUBS = ['ngc/hub', 'huggingface/hub', 'hub'];
const WEIGHTS = /\.(safetensors|bin|gguf|pt|pth|nemo)$/;
/** Names looked at in one folder: a real cache or model has a handful. */
const MAX_NAMES = 4096;

export async function lookAtSource(dir: string): Promise<SourceLook> {
  const look: SourceLook = {};
  for (const hub of CACHE_HUBS) {
    const model = (await names(path.join(dir, hub))).find((n) => n.startsWith('models--'));
    if (model) {
      look.nimCache = `${hub}/${model}`;
      break;
    }
  }
  const top = await names(dir);
  if (top.includes('trtllm_engine')) look.modelStore = 'trtllm_engine/';
  const weights = top.find((n) => WEIGHTS.test(n));
  if (top.includes('config.json') && weights) look.modelDir = `config.json and ${weights}`;
  return look;
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    const d = await fsp.opendir(dir);
    for await (const e of d) {
      out.push(e.name);
      if (out.length >= MAX_NAMES) break;
    }
  } catch {
    // absent or not a folder: no evidence either way
  }
  return out;
}
