// Which config every command uses, decided in one place: --config FILE, else $AIRLOCK_CONFIG, else the system
// config (/etc/airlock/config.json, where the .deb installs it) when it exists, else the embedded quick-start
// config `npm start` runs. The daemon, doctor, deploy, stop and status all follow it and say which one they used.
import { existsSync } from 'node:fs';
import { AirlockError } from '../errors.js';
import { defaultConfig } from './defaults.js';
import { loadDaemonConfig, type ConfigOverrides, type LoadedConfig } from './load-config.js';

export const SYSTEM_CONFIG = '/etc/airlock/config.json';

export type ConfigOrigin = '--config' | 'AIRLOCK_CONFIG' | 'system' | 'embedded';

export interface ConfigChoice {
  origin: ConfigOrigin;
  /** the file to read; absent for the embedded config */
  file?: string;
}

/** The choice (pure but for `exists`). AIRLOCK_SYSTEM_CONFIG moves the system path (packagers, tests). */
export function chooseConfig(flag: string | undefined, env: NodeJS.ProcessEnv, exists: (p: string) => boolean = existsSync): ConfigChoice {
  if (flag !== undefined) return { origin: '--config', file: flag };
  const fromEnv = env['AIRLOCK_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return { origin: 'AIRLOCK_CONFIG', file: fromEnv };
  const system = env['AIRLOCK_SYSTEM_CONFIG'] || SYSTEM_CONFIG;
  if (exists(system)) return { origin: 'system', file: system };
  return { origin: 'embedded' };
}

export interface DiscoveredConfig extends LoadedConfig {
  origin: ConfigOrigin;
}

export async function discoverConfig(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
  overrides: ConfigOverrides = {},
): Promise<DiscoveredConfig> {
  const choice = chooseConfig(flag, env);
  return { ...(await loadDaemonConfig(choice.file, cwd, overrides)), origin: choice.origin };
}

/** One line for a person: which config, and why that one. */
export function describeConfig(c: { source: string; origin: ConfigOrigin }): string {
  switch (c.origin) {
    case '--config':
      return `${c.source} (--config)`;
    case 'AIRLOCK_CONFIG':
      return `${c.source} (from AIRLOCK_CONFIG)`;
    case 'system':
      return `${c.source} (the system config)`;
    case 'embedded':
      return 'the embedded quick-start config (./var under the working directory, demo trust)';
  }
}

/**
 * Where the daemon of the discovered config answers, and which config said so (for `airlock status`). The
 * embedded config is not loaded: a release has no demo trust file, and its API is the default one anyway.
 */
export async function discoverApi(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ url: string; source: string; origin: ConfigOrigin }> {
  const choice = chooseConfig(flag, env);
  if (choice.file === undefined) return { url: apiUrl(defaultConfig.api, 'the embedded config'), source: 'embedded', origin: choice.origin };
  const loaded = await loadDaemonConfig(choice.file, cwd);
  return { url: apiUrl(loaded.config.api, loaded.source), source: loaded.source, origin: choice.origin };
}

/** The URL a daemon with this api section answers at (pure). */
export function apiUrl(api: { host: string; port: number; socket?: string }, origin: string): string {
  if (api.socket !== undefined) return `unix:${api.socket}`;
  if (api.port === 0)
    throw new AirlockError('USAGE', `${origin}: api.port is 0 (the daemon picks a port at start-up); give --url`, { path: 'api/port' });
  // A daemon listening on every address answers on loopback.
  const host = api.host === '0.0.0.0' ? '127.0.0.1' : api.host === '::' ? '::1' : api.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${api.port}`;
}
