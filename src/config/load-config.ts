// Read, validate and merge the daemon configuration (once, at start-up).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AirlockError, type Failure } from '../errors.js';
import { resolveRuntimeConfig } from '../runtime/config.js';
import { readSmallRegular } from '../safe-fs/open-regular.js';
import { trustsDemoKey } from '../trust/load-trust.js';
import { parseJsonDocument } from '../util/json-document.js';
import { schemaProblems } from '../util/schemas.js';
import { DEMO_ALLOWED_SIGNERS, defaultConfig, embeddedConfigDocument, type DaemonConfig } from './defaults.js';
import { mergeDocuments, resolveConfigPaths } from './merge.js';

export interface LoadedConfig {
  config: DaemonConfig;
  /** The file read, or 'embedded' for the built-in quick-start config. */
  source: string;
  /** True when the trust files let the published demo key sign (fixtures/keys/demo_ed25519: never for production). */
  demoTrust: boolean;
}

/**
 * Settings given on the command line (`airlock daemon --port N --host H --drop DIR --store DIR`): merged over the
 * file's, in the same one merge, and validated with them. Paths here are absolute (resolved where they were typed).
 */
export interface ConfigOverrides {
  dropFolders?: string[];
  store?: string;
  api?: { host?: string; port?: number };
}

/** Load FILE, or the embedded quick-start config (paths under `cwd`) when no file is given; `overrides` win. */
export async function loadDaemonConfig(file: string | undefined, cwd: string, overrides: ConfigOverrides = {}): Promise<LoadedConfig> {
  if (file === undefined) {
    // Release artifacts (tarball, .deb, npm package) leave the demo trust file out: its private key is public.
    if (!existsSync(DEMO_ALLOWED_SIGNERS)) {
      throw new AirlockError(
        'CONFIG_INVALID',
        `no --config given, and the quick-start config's demo trust file ${DEMO_ALLOWED_SIGNERS} is not part of this installation (release artifacts leave it out); run airlock daemon --config FILE (the .deb installs /etc/airlock/config.json; the template is systemd/airlock.example.json)`,
        { path: '--config' },
      );
    }
    const config = configFromDocument(embeddedConfigDocument as unknown as Record<string, unknown>, cwd, 'embedded config', overrides);
    return { config, source: 'embedded', demoTrust: await trustsDemoKey(config.trust) };
  }
  const abs = path.resolve(cwd, file);
  const doc = await readConfigDocument(abs);
  const config = configFromDocument(doc, path.dirname(abs), abs, overrides);
  // Keyed to the demo key's fingerprint, not to the file's path: a copy of the demo file is just as open.
  return { config, source: abs, demoTrust: await trustsDemoKey(config.trust) };
}

/** A config is a page of JSON; anything near this is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * A config file's JSON, not yet validated (configFromDocument does that, every problem at once: a person fixes
 * them all in one go). Never blocks (a FIFO where the config should be) and never reads more than a config can be.
 */
export async function readConfigDocument(abs: string): Promise<unknown> {
  let text: Buffer;
  try {
    text = await readSmallRegular(abs, abs, MAX_CONFIG_BYTES, 'CONFIG_INVALID');
  } catch (err) {
    throw new AirlockError('CONFIG_INVALID', `cannot read config ${abs}: ${(err as Error).message}`, { path: abs, cause: err });
  }
  return parseJsonDocument<unknown>(text, { origin: `config ${abs}`, code: 'CONFIG_INVALID' });
}

/** Validate a config document (unknown keys are errors naming the key), merge it over the defaults, resolve paths. */
export function configFromDocument(doc: unknown, baseDir: string, origin: string, overrides: ConfigOverrides = {}): DaemonConfig {
  if (Object.keys(overrides).length > 0 && typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
    doc = mergeDocuments(doc as Record<string, unknown>, overrides as Record<string, unknown>);
    origin = `${origin} with the command line's settings`;
  }
  const problems = schemaProblems('config', doc);
  if (problems.length > 0) {
    const failures: Failure[] = problems.map((p) => ({ code: 'CONFIG_INVALID', path: p.field, message: `${origin}: ${p.field} ${p.message}` }));
    throw AirlockError.fromFailures(failures);
  }
  const { $schema: _ignored, ...rest } = doc as Record<string, unknown>;
  const merged = mergeDocuments(defaultConfig as unknown as Record<string, unknown>, rest) as unknown as DaemonConfig;
  // The runtime section has its own defaults and refuses credentials (SECRET_IN_CONFIG).
  const runtime = resolveRuntimeConfig(merged.runtime, 'runtime');
  const config = resolveConfigPaths({ ...merged, runtime }, baseDir);
  checkSocketPath(config.api.socket, origin);
  return config;
}

// Linux keeps a unix socket's path in a 108-byte sun_path (NUL included). A longer path is not an error
// to bind(2) through Node 20's libuv: it binds a truncated name, and clients then cannot find the socket.
const MAX_SOCKET_PATH_BYTES = 107;

function checkSocketPath(socket: string | undefined, origin: string): void {
  if (socket === undefined || Buffer.byteLength(socket) <= MAX_SOCKET_PATH_BYTES) return;
  throw new AirlockError(
    'CONFIG_INVALID',
    `${origin}: api/socket ${socket} is ${Buffer.byteLength(socket)} bytes long; a unix socket path may be at most ${MAX_SOCKET_PATH_BYTES}`,
    { path: 'api/socket' },
  );
}
