// Real Docker for tests: engine detection (fail under CI, skip elsewhere), the fake NIM image built once per
// run, image archives, free ports, cleanup by label, and a minimal NIM cache when the fixture is absent.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { Test } from 'tap';
import { createDockerClient, describeEndpoint } from '../../src/runtime/docker/endpoint.js';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';

const run = promisify(execFile);
export const FAKE_NIM_DIR = path.join(PACKAGE_ROOT, 'fixtures', 'fake-nim');

export const docker: Docker = createDockerClient(process.env);

let available: Promise<boolean> | undefined;

/** Whether the engine at DOCKER_HOST answers (asked once per process). */
export function dockerAvailable(): Promise<boolean> {
  available ??= Promise.race([
    docker.ping().then(
      () => true,
      () => false,
    ),
    sleep(5000, false, { ref: false }),
  ]);
  return available;
}

type TestLike = Pick<Test, 'fail' | 'pass'>;

/**
 * True when Docker is reachable. Otherwise: under CI=true the test FAILS (CI must exercise the runtime),
 * elsewhere it records a skip. Use: `if (!(await requireDocker(t))) return;`
 */
export async function requireDocker(t: TestLike): Promise<boolean> {
  if (await dockerAvailable()) return true;
  const reason = `no Docker Engine answers at ${describeEndpoint(process.env)} (start one: sudo .ci/dockerd.sh start; export DOCKER_HOST=unix:///tmp/airlock-docker/docker.sock)`;
  if (process.env['CI'] === 'true') t.fail(reason);
  else t.pass('docker tests', { skip: reason });
  return false;
}

export interface FakeNimImage {
  ref: string;
  id: string;
}

const built = new Map<string, Promise<FakeNimImage>>();

/** The default tag carries a hash of fixtures/fake-nim, so an edited fake is rebuilt and a current one reused. */
export async function fakeNimTag(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await listFiles(FAKE_NIM_DIR)) {
    hash
      .update(path.relative(FAKE_NIM_DIR, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return `airlock/fake-nim:t-${hash.digest('hex').slice(0, 12)}`;
}

/** Build the fake NIM image once per run (per tag), safely when several test processes ask at once. */
export function ensureFakeNimImage(tag?: string): Promise<FakeNimImage> {
  const key = tag ?? '';
  let p = built.get(key);
  if (!p) {
    p = buildOnce(tag);
    built.set(key, p);
  }
  return p;
}

async function buildOnce(tag?: string): Promise<FakeNimImage> {
  const ref = tag ?? (await fakeNimTag());
  const existing = await inspectId(ref);
  if (existing) return { ref, id: existing };
  const lockName = createHash('sha256')
    .update(`${describeEndpoint(process.env)} ${ref}`)
    .digest('hex')
    .slice(0, 16);
  const lock = path.join(os.tmpdir(), `airlock-fake-nim-${lockName}.lock`);
  await acquire(lock);
  try {
    const again = await inspectId(ref);
    if (again) return { ref, id: again };
    const { stdout } = await run(path.join(FAKE_NIM_DIR, 'build'), [ref], { env: process.env });
    const id = stdout.trim().split('\n').pop() ?? '';
    if (!/^sha256:[0-9a-f]{64}$/.test(id)) throw new Error(`fake NIM build printed no image id: ${stdout}`);
    return { ref, id };
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** mkdir is atomic: the process that creates the lock directory builds; the others wait and then reuse. */
async function acquire(lock: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await mkdir(lock);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age =
        Date.now() -
        (await stat(lock).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      if (age > 120_000) await rm(lock, { recursive: true, force: true }); // left by a killed run
      if (i > 600) throw new Error(`timed out waiting for ${lock}`);
      await sleep(200);
    }
  }
}

async function inspectId(ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch {
    return undefined;
  }
}

/** `docker save REF > file`, through the Engine API, streamed. */
export async function saveImage(ref: string, file: string): Promise<void> {
  const archive = await docker.getImage(ref).get();
  await pipeline(archive, createWriteStream(file));
}

/** A port nothing listens on right now (the kernel picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Force-remove every container carrying label KEY=VALUE (teardown). */
export async function removeContainers(label: string): Promise<void> {
  const found = await docker.listContainers({ all: true, filters: { label: [label] } }).catch(() => []);
  for (const c of found)
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
}

/** A unique model name per test, safe as a container name and label value. */
export function uniqueModelName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export const FIXTURE_CACHE = path.join(PACKAGE_ROOT, 'fixtures', 'nim-cache');

/** The profiles the fake NIM image knows (fixtures/fake-nim/.../profiles.tsv). */
export async function fakeNimProfiles(): Promise<Array<{ id: string; name: string }>> {
  const tsv = await readFile(path.join(FAKE_NIM_DIR, 'rootfs/opt/nim/etc/default/profiles.tsv'), 'utf8');
  return tsv
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [id = '', name = ''] = l.split('\t');
      return { id, name };
    });
}

/**
 * A NIM cache for `profileId` in NGC's layout: a copy of fixtures/nim-cache when it exists (symlinks kept),
 * else a minimal tree with a snapshot holding config.json, metadata.json and rank0.engine.
 */
export async function makeNimCache(dir: string, profileId: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const fixtureProfile = await readFile(path.join(PACKAGE_ROOT, 'fixtures', 'nim-cache.profile.json'), 'utf8')
    .then((s) => (JSON.parse(s) as { profile: { id: string } }).profile.id)
    .catch(() => undefined);
  if (fixtureProfile === profileId) {
    await run('cp', ['-a', `${FIXTURE_CACHE}/.`, dir]);
    return;
  }
  const base = path.join(dir, 'ngc/hub/models--nim--meta--llama-3_1-8b-instruct');
  const tag = `test-${profileId.slice(0, 8)}`;
  const snap = path.join(base, 'snapshots', tag);
  await mkdir(path.join(base, 'blobs'), { recursive: true });
  await mkdir(path.join(base, 'refs'), { recursive: true });
  await mkdir(snap, { recursive: true });
  await writeFile(path.join(base, 'refs', tag), tag);
  const files: Record<string, string> = {
    'config.json': '{"architectures":["LlamaForCausalLM"]}\n',
    'metadata.json': JSON.stringify({ profile: { id: profileId } }) + '\n',
    'rank0.engine': `engine for ${profileId}\n`,
  };
  for (const [name, content] of Object.entries(files)) {
    const blob = createHash('md5').update(content).digest('hex');
    await writeFile(path.join(base, 'blobs', blob), content);
    await symlink(`../../blobs/${blob}`, path.join(snap, name));
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
