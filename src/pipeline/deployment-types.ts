// The store's view of installed deployments (src/store/deployments.ts), re-exported for the pipeline and API.
export type { DeploymentInfo, ImageArchive, ModelDeployments } from '../store/deployments.js';
