// What follows a successful install: deploy the model (runtime kind docker), then remove the drop
// (removeAfterInstall, drop folders only).
import { AirlockError, toAirlockError } from '../errors.js';
import type { AuditInput } from '../daemon/audit.js';
import { isDeployableKind } from '../format/manifest.js';
import { auditIdentity } from './decisions.js';
import type { Deployer, DeploymentStore } from './ports.js';
import { removeDrop } from './remove-drop.js';
import type { BundleRecord, BundleState, DeployState } from './types.js';

export interface AfterInstallSteps {
  deployer?: Deployer;
  deployments?: DeploymentStore;
  dropFolders: string[];
  removeAfterInstall: boolean;
  audit(e: AuditInput): void;
  changed(rec: BundleRecord): void;
  setState(rec: BundleRecord, state: BundleState): void;
  log: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  now(): string;
}

export async function runAfterInstall(rec: BundleRecord, s: AfterInstallSteps): Promise<void> {
  // A files bundle (airlock's own release, say) ends at `installed`: there is nothing to run.
  if (s.deployer && s.deployments && rec.name && isDeployableKind(rec.kind)) await deploy(rec, s.deployer, s.deployments, s);
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

async function deploy(rec: BundleRecord, deployer: Deployer, deployments: DeploymentStore, s: AfterInstallSteps): Promise<void> {
  s.setState(rec, 'deploying');
  let state: DeployState;
  try {
    const target = (await deployments.list()).find((m) => m.name === rec.name)?.current;
    if (!target || target.manifestDigest !== rec.manifestDigest) throw new AirlockError('NO_SUCH_DEPLOYMENT', `the store's current deployment of ${rec.name} is not this bundle`);
    const onState = (d: DeployState) => {
      rec.deployment = d;
      s.changed(rec);
    };
    state = { updatedAt: s.now(), ...(await deployer.deploy(target, { onState })) };
  } catch (err) {
    const e = toAirlockError(err);
    state = { state: 'failed', code: e.code, message: e.message, updatedAt: s.now() };
  }
  rec.deployment = state;
  if (state.state === 'rolled-back') await rollBackStore(rec, deployments, s);
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

// The runtime put the previous container back; point the store's current at it too, so a restart agrees.
async function rollBackStore(rec: BundleRecord, deployments: DeploymentStore, s: AfterInstallSteps): Promise<void> {
  try {
    const back = await deployments.rollback(rec.name!);
    s.audit({
      event: 'rolled-back',
      name: back.name,
      bundleId: back.bundleId,
      channel: back.channel,
      sequence: back.sequence,
      manifestDigest: back.manifestDigest,
      message: `${rec.bundleId} was not ready; ${back.bundleId} serves again`,
    });
  } catch (err) {
    s.log.error({ err, recordId: rec.id }, 'the container rolled back but the store could not');
  }
}
