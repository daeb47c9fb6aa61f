// Credentials the Docker Engine needs to pull an image by digest from a configured registry, looked up by the
// registry's host when a deploy pulls, read from the subscription's files then (never kept, never logged).
import type { RegistryAuthLookup } from '../runtime/runtime.js';
import { loadCredentials, type RegistryAuthFiles } from './credentials.js';
import { parseRegistryUrl } from './reference.js';

export function registryAuthLookup(registries: ReadonlyArray<{ url: string; auth?: RegistryAuthFiles }>): RegistryAuthLookup {
  return async (host) => {
    const sub = registries.find((r) => r.auth && parseRegistryUrl(r.url).host === host);
    if (!sub) return undefined;
    const c = await loadCredentials(sub.auth);
    if (c.basic) return { username: c.basic.username, password: c.basic.password, serveraddress: host };
    if (c.bearer) return { registrytoken: c.bearer, serveraddress: host };
    return undefined;
  };
}
