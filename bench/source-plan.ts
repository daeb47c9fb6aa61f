// The shape of the synthetic model tree: a few large shards and engines, a few hundred small files. Pure.

export interface PlannedFile {
  path: string;
  size: number;
}

const MiB = 1024 * 1024;
const SMALL_FILES = 300;
/** Shards stay near this size, as HF checkpoints do (they are usually 2-5 GB; smaller keeps 2G runs varied). */
const SHARD_TARGET = 512 * MiB;

/** Small per-file sizes from 1 KiB to 64 KiB, spread deterministically. */
function smallSize(i: number): number {
  return 1024 * (1 + ((i * 37) % 64));
}

/**
 * Lay out `total` payload bytes like an HF-style model directory with a TensorRT-LLM engine beside it:
 * about 1% small files (tokenizer, configs, profile yamls), 10% in two rank engines, the rest in shards.
 */
export function planSource(total: number): PlannedFile[] {
  const files: PlannedFile[] = [];
  const configs = ['config.json', 'generation_config.json', 'special_tokens_map.json', 'tokenizer_config.json', 'model.safetensors.index.json'];
  configs.forEach((p, i) => files.push({ path: p, size: smallSize(i + 11) }));
  for (let i = 0; i < SMALL_FILES - configs.length - 1; i++) {
    const dir = ['profiles', 'trtllm_engine/config', 'assets'][i % 3];
    files.push({ path: `${dir}/part-${String(i).padStart(4, '0')}.${i % 2 ? 'yaml' : 'json'}`, size: smallSize(i) });
  }
  // Tiny trees (the smoke test's 8M) shrink the small files so they stay a few percent of the bytes.
  const raw = files.reduce((n, f) => n + f.size, 0);
  const scale = Math.min(1, (0.04 * total) / raw);
  for (const f of files) f.size = Math.max(16, Math.floor(f.size * scale));
  files.push({ path: 'tokenizer.json', size: Math.max(4096, Math.min(8 * MiB, Math.floor(total / 200))) });
  const smallTotal = files.reduce((n, f) => n + f.size, 0);
  const engine = Math.floor(total * 0.05);
  files.push({ path: 'trtllm_engine/rank0.engine', size: engine }, { path: 'trtllm_engine/rank1.engine', size: engine });
  const shardBytes = total - smallTotal - 2 * engine;
  const shards = Math.max(2, Math.round(shardBytes / SHARD_TARGET));
  const each = Math.floor(shardBytes / shards);
  for (let i = 0; i < shards; i++) {
    const size = i === shards - 1 ? shardBytes - each * (shards - 1) : each;
    files.push({ path: `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`, size });
  }
  return files;
}

/** `count` files of `size` bytes, a thousand to a folder: a tree of many small files (the scale rows). */
export function planSmallFiles(count: number, size = 4096): PlannedFile[] {
  return Array.from({ length: count }, (_, i) => ({
    path: `d${String(Math.floor(i / 1000)).padStart(3, '0')}/f${String(i).padStart(6, '0')}.bin`,
    size,
  }));
}
