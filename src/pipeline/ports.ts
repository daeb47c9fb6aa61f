// The narrow interfaces the pipeline drives. Production implementations wrap the use cases of src/ops/ (install
// off the event loop, deploy over the container runtime) and the store's deployments; tests pass doubles.
import type { DeploymentInfo, ModelDeployments } from './deployment-types.js';
import type { DeployState } from './types.js';
import type { SourceRef } from '../bundle/source.js';
import type { Failure } from '../errors.js';
import type { SignerReport } from '../trust/policy.js';
import type { InstallProgress, InstallResult } from '../ops/install.js';

/** What reading the head of a bundle tells: its identity, and (when its signatures did not hold) why it is rejected. */
export interface BundleIdentity {
  /** sha256 hex of airlock.json's bytes */
  manifestDigest: string;
  /** the bundle's signatures checked against the trust file (cheap: manifest-sized work) */
  signers: SignerReport[];
  /** the manifest's fields: absent when the signatures did not hold (the manifest is then never parsed) */
  bundleId?: string;
  name?: string;
  kind?: string;
  channel?: string;
  sequence?: number;
  /** lines skipped in the trust file when it was read for this bundle */
  trustWarnings?: string[];
  /** the failures that reject the bundle already (signatures, manifest, expiry): nothing more is read */
  rejected?: { failures: Failure[]; failureCount: number; message: string };
}

export type { InstallProgress } from '../ops/install.js';

export interface InstallCallOptions {
  onProgress?: (p: InstallProgress) => void;
  signal?: AbortSignal;
}

/** What the worker sends back of the store's InstallResult (the plain-data part). */
export type InstallOutcome = Pick<
  InstallResult,
  | 'status'
  | 'bundleId'
  | 'name'
  | 'channel'
  | 'sequence'
  | 'manifestDigest'
  | 'path'
  | 'trust'
  | 'bytesVerified'
  | 'bytesPrestaged'
  | 'filesVerified'
  | 'durationMs'
>;

/** Verifies and installs bundles. Throws AirlockError (with failures) when a bundle is rejected. */
export interface Installer {
  /** Read the manifest and signatures only (never the payload), off the event loop. */
  identify(source: SourceRef): Promise<BundleIdentity>;
  install(source: SourceRef, opts: InstallCallOptions): Promise<InstallOutcome>;
  close?(): Promise<void>;
}

/** What a deploy reached, and where it left the store's current pointer. */
export interface DeployResult {
  state: DeployState;
  /** the deployment the store's current names afterwards: the one that serves, after a fallback */
  current: DeploymentInfo;
  /** the target did not become ready and the previous deployment serves (and is current) again */
  fellBack: boolean;
}

/** Starts installed models (src/ops/deploy.ts over the runtime). Absent when config.runtime.kind is 'none'. */
export interface Deployer {
  /** Start the store's current deployment of `name`; `expectDigest`: it must be that bundle (NO_SUCH_DEPLOYMENT). */
  deploy(name: string, opts?: { expectDigest?: string; onState?: (s: DeployState) => void; signal?: AbortSignal }): Promise<DeployResult>;
  close?(): Promise<void>;
}

/** The store's deployments, for the API's /v1/deployments and rollback. */
export interface DeploymentStore {
  list(): Promise<ModelDeployments[]>;
  rollback(name: string, to?: string): Promise<DeploymentInfo>;
}
