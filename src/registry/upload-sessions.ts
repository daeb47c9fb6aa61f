// Upload sessions kept on disk, so a publish that was interrupted (killed, the network gone) continues a blob
// where the registry says it stands instead of sending it again. One small file per session, keyed by
// registry, repository and digest; mode 0600 in a 0700 folder (an upload URL is a capability).
import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface UploadSessions {
  get(key: string): Promise<string | undefined>;
  set(key: string, location: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** CNCF Distribution purges upload sessions after a week; an older one is not worth asking about. */
const MAX_AGE_MS = 6 * 24 * 3600 * 1000;
const MAX_SESSION_FILE = 16 * 1024;

/** `$XDG_CACHE_HOME/airlock/uploads`, or `~/.cache/airlock/uploads`. */
export function defaultSessionDir(env: NodeJS.ProcessEnv): string {
  const cache = env['XDG_CACHE_HOME'] || path.join(env['HOME'] || os.homedir(), '.cache');
  return path.join(cache, 'airlock', 'uploads');
}

export function fileUploadSessions(dir: string, clock: () => number = Date.now): UploadSessions {
  const file = (key: string) => path.join(dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  return {
    async get(key) {
      let text: string;
      try {
        const fh = await fsp.open(file(key), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        try {
          const st = await fh.stat();
          if (!st.isFile() || st.size > MAX_SESSION_FILE) return undefined;
          text = await fh.readFile('utf8');
        } finally {
          await fh.close();
        }
      } catch {
        return undefined;
      }
      try {
        const doc = JSON.parse(text) as { key?: unknown; location?: unknown; at?: unknown };
        if (doc.key !== key || typeof doc.location !== 'string' || typeof doc.at !== 'number' || clock() - doc.at > MAX_AGE_MS) return undefined;
        return doc.location;
      } catch {
        return undefined;
      }
    },
    async set(key, location) {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
      const target = file(key);
      const tmp = `${target}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, JSON.stringify({ key, location, at: clock() }), { mode: 0o600 });
      await fsp.rename(tmp, target);
    },
    async delete(key) {
      await fsp.rm(file(key), { force: true });
    },
  };
}
