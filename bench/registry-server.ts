// A throwaway CNCF Distribution 2.8 (Debian's docker-registry) for the registry benchmark: plain HTTP on a
// free loopback port, its own config and an empty storage folder each time it is started.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const SKOPEO_BIN = '/usr/bin/skopeo';
export const CURL_BIN = '/usr/bin/curl';

/** What is missing for the registry benchmark, or undefined when it can run. */
export function registryToolsMissing(): string | undefined {
  const missing = [REGISTRY_BIN, SKOPEO_BIN, CURL_BIN].filter((b) => !existsSync(b));
  return missing.length ? `${missing.join(', ')} not installed (apt-get install docker-registry skopeo curl)` : undefined;
}

export interface BenchRegistry {
  url: string;
  host: string;
  stop(): Promise<void>;
}

export async function startBenchRegistry(dir: string): Promise<BenchRegistry> {
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(path.join(dir, 'storage'), { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = path.join(dir, 'config.yml');
  await fsp.writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'storage')}`,
      'http:',
      `  addr: ${host}`,
      '  secret: airlock-bench',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://${host}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode})`);
    const up = await fetch(`${url}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 200) throw new Error(`docker-registry did not answer on ${url}`);
    await sleep(50);
  }
  return {
    url,
    host,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
