// The daemon's configuration type and every default, in one place (merged once by load-config.ts).
import path from 'node:path';
import type { RuntimeConfig } from '../runtime/config.js';
import { DEFAULT_MAX_MANIFEST_BYTES } from '../format/layout.js';
import { PACKAGE_ROOT } from '../util/schemas.js';

export interface DaemonConfig {
  /** Folders operators copy bundles into; created at start-up when missing. */
  dropFolders: string[];
  /** How many directory levels below a drop folder are watched. */
  dropDepth: number;
  /** Where removable media get mounted; a stick mounted below one of these is seen. */
  mediaRoots: string[];
  /** How many directory levels below a media root are watched (/media/USER/STICK/bundle/airlock.json is 3). */
  mediaDepth: number;
  store: string;
  /** revokedKeys: public keys (one per line, as `ssh-keygen -Y verify -r` reads) whose signatures never count. */
  trust: { allowedSigners: string; revokedKeys?: string; threshold: number };
  /** A complete bundle must stay unchanged this long before it is verified (tars, split parts, folder bundles not verified while arriving). */
  quietPeriodMs: number;
  /** Verifying bundles while they arrive: folder bundles file by file (docs/arrival.md), split parts from several sticks (docs/parts.md). */
  arrival: ArrivalConfig;
  api: { host: string; port: number; socket?: string; tokenFile: string };
  /** Delete a bundle from its drop folder after it installed (never on media). */
  removeAfterInstall: boolean;
  retention: { bundles: number; rejected: number; deployments: number; auditEvents: number };
  /** Bounds on what one drop or one local client can make the daemon spend (docs/security.md, "Limits of the daemon"). */
  limits: DaemonLimits;
  /** resolved by the runtime's own defaults (src/runtime/config.ts) */
  runtime: RuntimeConfig;
  /** OCI registries the daemon pulls published bundles from (docs/registry.md) */
  registries: RegistrySubscription[];
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}

/** One repository of an OCI registry the daemon follows: the highest CHANNEL-SEQUENCE tag is installed. */
export interface RegistrySubscription {
  /** the registry's base URL: http://HOST:PORT or https://HOST[:PORT] */
  url: string;
  repository: string;
  channel: string;
  /** when given, a bundle there naming another model is rejected (REGISTRY_MISMATCH) */
  name?: string;
  pollSeconds: number;
  /** PEM of the CA that signed the registry's certificate (then the only CA trusted for it) */
  caFile?: string;
  /** credentials, read from their files when used; never logged */
  auth?: { basicFile?: string; bearerTokenFile?: string };
  /** hosts besides the registry's own it may send the daemon to (its token service, blob storage) */
  extraHosts?: string[];
}

export const DEFAULT_POLL_SECONDS = 30;

export interface ArrivalConfig {
  /** copy and hash each listed file of a folder bundle as soon as it settled, once the signatures hold */
  verifyWhileArriving: boolean;
  /** a listed file (or a copy of a part) must keep its size, times and inode this long before it is copied */
  settleMs: number;
  /** the copies of a drop that stopped arriving are kept this long (then removed); a restart resumes from them */
  keepStagedSeconds: number;
  /** split bundles spooled part by part from several sticks */
  parts: PartsSpoolConfig;
}

export interface DaemonLimits {
  /** a manifest (airlock.json) larger than this is refused before it is read (MANIFEST_TOO_LARGE) */
  manifestBytes: number;
  /** concurrent GET /v1/events clients; one more is answered 503 TOO_MANY_CLIENTS */
  eventClients: number;
  /** bytes an event-stream client may leave unread in the daemon before it is dropped */
  eventBufferBytes: number;
  /** a bundle step reporting no progress this long ends `failed` with STALLED, and the queue moves on */
  stallSeconds: number;
}

export interface PartsSpoolConfig {
  /** a spool nothing was added to for this long is removed with its record */
  abandonAfterHours: number;
  /** split bundles spooled at once */
  maxBundles: number;
}

/** Defaults for every key a config file may leave out. Relative paths resolve against the config file's folder. */
export const defaultConfig: Omit<DaemonConfig, 'store' | 'trust' | 'runtime'> & { trust: { threshold: number }; runtime: { kind: 'none' } } = {
  dropFolders: [],
  dropDepth: 2,
  mediaRoots: ['/media', '/run/media', '/mnt'],
  mediaDepth: 3,
  quietPeriodMs: 3000,
  arrival: { verifyWhileArriving: true, settleMs: 250, keepStagedSeconds: 86400, parts: { abandonAfterHours: 168, maxBundles: 16 } },
  api: { host: '127.0.0.1', port: 7480, tokenFile: 'api-token' },
  removeAfterInstall: false,
  retention: { bundles: 500, rejected: 100, deployments: 2, auditEvents: 1000 },
  limits: { manifestBytes: DEFAULT_MAX_MANIFEST_BYTES, eventClients: 32, eventBufferBytes: 1024 * 1024, stallSeconds: 300 },
  runtime: { kind: 'none' },
  registries: [],
  trust: { threshold: 1 },
  log: { level: 'info' },
};

/** The demo trust file: a key anyone can read from the repository, so only for trying airlock out. */
export const DEMO_ALLOWED_SIGNERS = path.join(PACKAGE_ROOT, 'fixtures', 'keys', 'allowed_signers.demo');

/**
 * The embedded config used when `airlock daemon` runs without --config (the README's quick start):
 * everything under ./var of the working directory, no removable media, nothing deployed.
 */
export const embeddedConfigDocument = {
  dropFolders: ['var/drop'],
  store: 'var/store',
  mediaRoots: [],
  trust: { allowedSigners: DEMO_ALLOWED_SIGNERS, threshold: 1 },
  api: { tokenFile: 'var/api-token' },
  runtime: { kind: 'none' },
} as const;
