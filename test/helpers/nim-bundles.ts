// Signed nim-cache bundles of fixtures/nim-cache holding the fake NIM image, for deploy, doctor and e2e tests.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';
import { fixturePath, packFixture, type PackedFixture } from './fixtures.js';
import { ensureFakeNimImage, saveImage, type FakeNimImage } from './docker.js';

const run = promisify(execFile);
export const DEMO_KEY = path.join(PACKAGE_ROOT, 'fixtures', 'keys', 'demo_ed25519');

interface TestdirHost {
  testdir(): string;
  testdirName: string;
}

export interface NimBundleOptions {
  name: string;
  sequence: number;
  servedModelName: string;
  /** add `airlock-fake-nim-not-ready` at the top of the cache: the fake NIM never becomes ready */
  notReady?: boolean;
  /** the archive from `imageArchive` (default: the image is saved through `pack --image`) */
  archive?: string;
  /** private keys to sign with (default: the demo key) */
  signKeys?: string[];
}

/** The fake NIM image's `docker save` archive in `dir`. */
export async function imageArchive(dir: string): Promise<{ image: FakeNimImage; file: string }> {
  const image = await ensureFakeNimImage();
  const file = path.join(dir, 'fake-nim.tar');
  await saveImage(image.ref, file);
  return { image, file };
}

/** Pack (real CLI, demo key) a copy of fixtures/nim-cache with the fake NIM image. */
export async function packNimBundle(t: TestdirHost, o: NimBundleOptions): Promise<PackedFixture> {
  const image = await ensureFakeNimImage();
  const base = existsSync(t.testdirName) ? t.testdirName : t.testdir();
  const source = path.join(base, `cache-${o.sequence}`);
  await run('cp', ['-a', fixturePath('nim-cache'), source]);
  if (o.notReady) await writeFile(path.join(source, 'airlock-fake-nim-not-ready'), 'the fake NIM answers 503 forever\n');
  return packFixture(t, {
    source,
    kind: 'nim-cache',
    withProfile: true,
    name: o.name,
    sequence: o.sequence,
    servedModelName: o.servedModelName,
    signKeys: o.signKeys ?? [DEMO_KEY],
    ...(o.archive ? { images: [`${o.archive}=${image.ref}`] } : { extraArgs: ['--image', image.ref] }),
  });
}
