// What follows a successful install: deploy the model (runtime kind docker), then remove the drop
// (removeAfterInstall, drop folders only).
import { toAirlockError } from '../errors.js';
import type { AuditInput } from './audit-events.js';
import { isDeployableKind } from '../format/manifest.js';
import { auditIdentity } from './decisions.js';
import type { Deployer } from './ports.js';
import { removeDrop } from './remove-drop.js';
import type { BundleRecord, BundleState, DeployState } from './types.js';

export interface AfterInstallSteps {
  deployer?: Deployer;
  dropFolders: string[];
  removeAfterInstall: boolean;
  audit(e: AuditInput): void;
  changed(rec: BundleRecord): void;
  setState(rec: BundleRecord, state: BundleState): void;
  log: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  now(): string;
  /** aborted when the daemon stops: a deploy still waiting for readiness is abandoned, not awaited */
  signal?: AbortSignal;
}

export async function runAfterInstall(rec: BundleRecord, s: AfterInstallSteps): Promise<void> {
  // A files bundle (airlock's own release, say) ends at `installed`: there is nothing to run.
  if (s.deployer && rec.name && isDeployableKind(rec.kind)) await deploy(rec, s.deployer, s);
  if (!s.removeAfterInstall) return;
  try {
    if (await removeDrop(rec, s.dropFolders)) {
      rec.removed = true;
      s.audit({ event: 'removed', ...auditIdentity(rec) });
      s.setState(rec, rec.state);
    }
  } catch (err) {
    s.log.warn({ err, recordId: rec.id }, 'could not remove the installed bundle from its drop folder');
  }
}

async function deploy(rec: BundleRecord, deployer: Deployer, s: AfterInstallSteps): Promise<void> {
  s.setState(rec, 'deploying');
  let state: DeployState;
  try {
    const onState = (d: DeployState) => {
      rec.deployment = d;
      s.changed(rec);
    };
    const result = await deployer.deploy(rec.name!, {
      ...(rec.manifestDigest ? { expectDigest: rec.manifestDigest } : {}),
      onState,
      ...(s.signal ? { signal: s.signal } : {}),
    });
    state = { ...result.state, updatedAt: s.now() };
    // The deploy put the previous deployment back, in the runtime and in the store alike.
    if (result.fellBack) {
      const back = result.current;
      s.audit({
        event: 'rolled-back',
        name: back.name,
        bundleId: back.bundleId,
        channel: back.channel,
        sequence: back.sequence,
        manifestDigest: back.manifestDigest,
        message: `${rec.bundleId} was not ready; ${back.bundleId} serves again`,
      });
    }
  } catch (err) {
    const e = toAirlockError(err);
    state = { state: 'failed', code: e.code, message: e.message, updatedAt: s.now() };
  }
  rec.deployment = state;
  const ok = state.state === 'ready';
  s.audit({
    event: ok ? 'deployed' : 'deploy-failed',
    ...auditIdentity(rec),
    ...(state.code ? { code: state.code } : {}),
    ...(state.message ? { message: state.message } : {}),
    ...(state.containerId ? { containerId: state.containerId } : {}),
  });
  s.setState(rec, ok ? 'ready' : 'failed');
}
