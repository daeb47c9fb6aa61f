// --ca-file, --basic-file, --bearer-token-file and --extra-host: how a command reaches a registry, shared by
// publish and install --registry. Credentials come from files only (never the command line, where ps shows them).
import path from 'node:path';
import { RegistryClient } from '../registry/client.js';
import type { RegistryEndpoint } from '../registry/reference.js';
import type { CliIO } from './command.js';

export const REGISTRY_OPTIONS = {
  'ca-file': { type: 'string' },
  'basic-file': { type: 'string' },
  'bearer-token-file': { type: 'string' },
  'extra-host': { type: 'string', multiple: true },
} as const;

export const REGISTRY_USAGE = `  --ca-file FILE           the CA that signed an https registry's certificate (then the only one trusted)
  --basic-file FILE        USER:PASSWORD on its first line: basic auth, or for the registry's token service
  --bearer-token-file FILE a registry token on its first line, sent as Authorization: Bearer
  --extra-host HOST[:PORT] a host the registry may send airlock to (token service, blob storage); repeatable`;

export interface RegistryValues {
  'ca-file'?: string;
  'basic-file'?: string;
  'bearer-token-file'?: string;
  'extra-host'?: string[];
}

export interface RegistryAccess {
  caFile?: string;
  basicFile?: string;
  bearerTokenFile?: string;
  extraHosts?: string[];
}

export function registryAccess(values: RegistryValues, io: CliIO): RegistryAccess {
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(io.cwd, p));
  const out: RegistryAccess = {};
  const ca = abs(values['ca-file']);
  const basic = abs(values['basic-file']);
  const bearer = abs(values['bearer-token-file']);
  if (ca) out.caFile = ca;
  if (basic) out.basicFile = basic;
  if (bearer) out.bearerTokenFile = bearer;
  if (values['extra-host']?.length) out.extraHosts = values['extra-host'];
  return out;
}

export function clientFor(registry: RegistryEndpoint, a: RegistryAccess): Promise<RegistryClient> {
  return RegistryClient.create({
    registry,
    ...(a.caFile ? { caFile: a.caFile } : {}),
    ...(a.basicFile || a.bearerTokenFile
      ? { auth: { ...(a.basicFile ? { basicFile: a.basicFile } : {}), ...(a.bearerTokenFile ? { bearerTokenFile: a.bearerTokenFile } : {}) } }
      : {}),
    ...(a.extraHosts ? { extraHosts: a.extraHosts } : {}),
  });
}
