// Pure steps of config loading: merge a validated document over the defaults, resolve relative paths.
import path from 'node:path';
import { DEFAULT_POLL_SECONDS, type DaemonConfig } from './defaults.js';

type Doc = Record<string, unknown>;

function isPlainObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars replace. */
export function mergeDocuments(base: Doc, over: Doc): Doc {
  const out: Doc = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeDocuments(b, v) : v;
  }
  return out;
}

/** Every path-valued setting resolved against `baseDir` (the config file's folder, or the working directory). */
export function resolveConfigPaths(c: DaemonConfig, baseDir: string): DaemonConfig {
  const r = (p: string) => path.resolve(baseDir, p);
  return {
    ...c,
    dropFolders: c.dropFolders.map(r),
    mediaRoots: c.mediaRoots.map(r),
    store: r(c.store),
    trust: {
      ...c.trust,
      allowedSigners: r(c.trust.allowedSigners),
      ...(c.trust.revokedKeys === undefined ? {} : { revokedKeys: r(c.trust.revokedKeys) }),
    },
    api: { ...c.api, tokenFile: r(c.api.tokenFile), ...(c.api.socket === undefined ? {} : { socket: r(c.api.socket) }) },
    registries: c.registries.map((reg) => ({
      ...reg,
      pollSeconds: reg.pollSeconds ?? DEFAULT_POLL_SECONDS,
      ...(reg.caFile === undefined ? {} : { caFile: r(reg.caFile) }),
      ...(reg.auth === undefined
        ? {}
        : {
            auth: {
              ...(reg.auth.basicFile === undefined ? {} : { basicFile: r(reg.auth.basicFile) }),
              ...(reg.auth.bearerTokenFile === undefined ? {} : { bearerTokenFile: r(reg.auth.bearerTokenFile) }),
            },
          }),
    })),
  };
}
