// A real OCI registry for tests: Debian's docker-registry (CNCF Distribution 2.8) on a free loopback port, with
// its own config and storage folder under the test's scratch folder, plain HTTP or TLS from a test CA with
// htpasswd (bcrypt) basic auth. Its access log tells which requests it served (what a daemon fetched).
//
//   const reg = await startRegistry(t)                        // http://127.0.0.1:PORT
//   const reg = await startRegistry(t, { tls: true, auth: true })
//   reg.requests()                                            // [{ method, path, status }, …] from the access log
//   await reg.stop(); await reg.start()                       // same port, same storage
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { freePort } from './docker.js';
import { scratchDir, type ScratchTest } from './scratch.js';

const run = promisify(execFile);
export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface RegistryRequest {
  method: string;
  path: string;
  status: number;
}

export interface TestRegistry {
  /** http://127.0.0.1:PORT or https://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT */
  host: string;
  dir: string;
  storage: string;
  /** the test CA's certificate (tls) */
  caFile?: string;
  /** USER:PASSWORD file (auth) */
  basicFile?: string;
  user?: string;
  password?: string;
  requests(): RegistryRequest[];
  /** requests since the mark */
  mark(): () => RegistryRequest[];
  /** where the registry keeps a blob's bytes on disk */
  blobFile(digest: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

type TapLike = ScratchTest & Pick<Test, 'fail' | 'pass'>;

/** True when docker-registry is installed; otherwise fail under CI, skip elsewhere. */
export function requireRegistry(t: Pick<TapLike, 'fail' | 'pass'>): boolean {
  if (existsSync(REGISTRY_BIN)) return true;
  const reason = `${REGISTRY_BIN} is not installed (apt-get install docker-registry skopeo apache2-utils)`;
  if (process.env['CI'] === 'true') t.fail(reason);
  else t.pass('registry tests', { skip: reason });
  return false;
}

export async function startRegistry(t: TapLike, opts: { tls?: boolean; auth?: boolean } = {}): Promise<TestRegistry> {
  const dir = path.join(scratchDir(t), `registry-${Math.random().toString(36).slice(2, 8)}`);
  const storage = path.join(dir, 'storage');
  await mkdir(storage, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines: string[] = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    '  secret: airlock-test-secret',
  ];
  const reg: Partial<TestRegistry> = { dir, storage, host };
  if (opts.tls) {
    const { caFile, cert, key } = await makeCertificates(dir);
    lines.push('  tls:', `    certificate: ${cert}`, `    key: ${key}`);
    reg.caFile = caFile;
  }
  if (opts.auth) {
    const user = 'airlock';
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    const { stdout } = await run('htpasswd', ['-Bbn', user, password]);
    const htpasswd = path.join(dir, 'htpasswd');
    await writeFile(htpasswd, stdout);
    const basicFile = path.join(dir, 'basic-auth');
    await writeFile(basicFile, `${user}:${password}\n`, { mode: 0o600 });
    lines.push('auth:', '  htpasswd:', '    realm: airlock-test', `    path: ${htpasswd}`);
    Object.assign(reg, { basicFile, user, password });
  }
  const config = path.join(dir, 'config.yml');
  await writeFile(config, lines.join('\n') + '\n');
  const url = `${opts.tls ? 'https' : 'http'}://${host}`;
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    const c = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout!.setEncoding('utf8').on('data', (s: string) => (log += s));
    c.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
    for (let i = 0; ; i++) {
      if (c.exitCode !== null) throw new Error(`docker-registry exited (${c.exitCode}): ${log}`);
      if (await answers(url, reg.caFile)) return;
      if (i > 200) throw new Error(`docker-registry did not answer on ${url}: ${log}`);
      await sleep(50);
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (c.exitCode === null) c.kill('SIGKILL');
    await exited;
  };
  t.teardown(stop);
  await start();
  const requests = (): RegistryRequest[] =>
    [...log.matchAll(/"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) /g)].map((m) => ({ method: m[1]!, path: m[2]!, status: Number(m[3]) }));
  return Object.assign(reg, {
    url,
    requests,
    mark: () => {
      const n = requests().length;
      return () => requests().slice(n);
    },
    blobFile: (digest: string) => {
      const hex = digest.replace(/^sha256:/, '');
      return path.join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
    stop,
    start,
  }) as TestRegistry;
}

async function answers(url: string, caFile: string | undefined): Promise<boolean> {
  const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', ...(caFile ? ['--cacert', caFile] : []), `${url}/v2/`];
  try {
    const { stdout } = await run('curl', args);
    return stdout === '200' || stdout === '401';
  } catch {
    return false;
  }
}

/** A throwaway CA and a server certificate for 127.0.0.1 and localhost, signed by it (openssl). */
async function makeCertificates(dir: string): Promise<{ caFile: string; cert: string; key: string }> {
  const f = (n: string) => path.join(dir, n);
  const ossl = (args: string[]) => run('openssl', args);
  await ossl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=airlock test CA',
  ]);
  await ossl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await writeFile(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await ossl([
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
  ]);
  return { caFile: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}
