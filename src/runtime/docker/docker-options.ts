// A ContainerSpec as Docker Engine create options. Pure: the one place Docker's vocabulary meets airlock's.
import type Docker from 'dockerode';
import type { ContainerSpec, GpuRequest } from '../runtime.js';

/** `docker run --gpus` as device requests: all GPUs, listed ones, or none at all. */
export function deviceRequests(gpus: GpuRequest): Docker.DeviceRequest[] | undefined {
  if (gpus === 'none') return undefined;
  if (gpus === 'all') return [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }];
  return [{ Driver: 'nvidia', DeviceIDs: [...gpus], Capabilities: [['gpu']] }];
}

export function dockerCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const devices = deviceRequests(spec.gpus);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of spec.ports) {
    exposed[`${p.containerPort}/tcp`] = {};
    bindings[`${p.containerPort}/tcp`] = [{ HostIp: p.hostIp, HostPort: String(p.hostPort) }];
  }
  return {
    ...(spec.name ? { name: spec.name } : {}),
    Image: spec.image,
    ...(spec.command ? { Cmd: spec.command, Tty: false, AttachStdout: true, AttachStderr: true } : {}),
    Env: spec.env,
    User: spec.user,
    ...(spec.ports.length ? { ExposedPorts: exposed } : {}),
    Labels: spec.labels,
    HostConfig: {
      // Mounts, not Binds: a path holding ':' or ',' cannot be misread, and a missing source is an error, not a new dir.
      Mounts: spec.mounts.map((m) => ({ Type: 'bind' as const, Source: m.source, Target: m.target, ...(m.readOnly ? { ReadOnly: true } : {}) })),
      ...(spec.ports.length ? { PortBindings: bindings } : {}),
      ...(spec.shmBytes !== undefined ? { ShmSize: spec.shmBytes } : {}),
      RestartPolicy: { Name: spec.restart },
      ...(devices ? { DeviceRequests: devices } : {}),
      ...(spec.extraHosts ? { ExtraHosts: spec.extraHosts } : {}),
    },
  };
}
