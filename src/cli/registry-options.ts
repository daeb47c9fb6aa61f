// --ca-file, --basic-file, --bearer-token-file and --extra-host: how a command reaches a registry, shared by
// publish and install --registry. Credentials come from files only (never the command line, where ps shows them).
import path from 'node:path';
import { RegistryClient } from '../registry/client.js';
import type { RegistryEndpoint } from '../registry/reference.js';
import type { CliIO, OptionSpec } from './command.js';

export const REGISTRY_OPTIONS = [
  {
    flag: '--ca-file',
    value: 'FILE',
    complete: 'file',
    description: "the CA that signed an https registry's certificate (then the only one trusted)",
  },
  {
    flag: '--basic-file',
    value: 'FILE',
    complete: 'file',
    description: "USER:PASSWORD on its first line: basic auth, or sent to the registry's token service",
  },
  { flag: '--bearer-token-file', value: 'FILE', complete: 'file', description: 'a registry token on its first line, sent as Authorization: Bearer' },
  {
    flag: '--extra-host',
    value: 'HOST[:PORT]',
    repeatable: true,
    complete: 'none',
    description: 'a host the registry may send airlock to (token service, blob storage); repeatable',
  },
] as const satisfies readonly OptionSpec[];

export interface RegistryValues {
  'ca-file'?: string | undefined;
  'basic-file'?: string | undefined;
  'bearer-token-file'?: string | undefined;
  'extra-host'?: string[] | undefined;
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
