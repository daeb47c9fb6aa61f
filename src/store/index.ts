// The content-addressed store: install, deployments and rollback, gc, inventory, and its consistency check.
export { installBundle, DEFAULT_RETENTION, type InstallOptions, type InstallProgress, type InstallResult } from './install.js';
export { listDeployments, rollback, type DeploymentInfo, type ModelDeployments, type ImageArchive } from './deployments.js';
export { gcStore, type GcReport } from './gc.js';
export { buildInventory, type Inventory } from './inventory.js';
export { checkStore, type CheckOptions } from './check-store.js';
export { recoverStore, repairStore, type RecoveryReport } from './recover.js';
export { acquireStoreLock, lockHolder } from './lock.js';
export { unlockStore, decideUnlock, type UnlockResult } from './unlock.js';
