// Mirrors src/store/deployments.ts (DeploymentInfo, ModelDeployments) so the pipeline and API do not depend on the store's module.
export interface DeploymentInfo {
  bundleId: string;
  name: string;
  channel: string;
  sequence: number;
  manifestDigest: string;
  kind: string;
  path: string;
  installedAt: string;
  imageRefs: string[];
}

export interface ModelDeployments {
  name: string;
  current?: DeploymentInfo;
  kept: DeploymentInfo[];
}
