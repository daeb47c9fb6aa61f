// The content-addressed store: activation, deployments and rollback, gc, inventory, and its consistency check.
export { activateBundle, type ActivationInput, type ActivationOptions, type FillResult } from './activate.js';
export { listDeployments, rollback, type DeploymentInfo, type ModelDeployments, type ImageArchive } from './deployments.js';
export { gcStore, type GcReport } from './gc.js';
export { buildInventory, type Inventory } from './inventory.js';
export { checkStore, type CheckOptions } from './check-store.js';
export { recoverStore, repairStore, type RecoveryReport } from './recover.js';
export { acquireStoreLock, lockHolder } from './lock.js';
export { unlockStore, decideUnlock, type UnlockResult } from './unlock.js';
