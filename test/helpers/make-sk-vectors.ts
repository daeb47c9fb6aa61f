// Writes the committed security-key test vectors in test/vectors/sk/ (see its README.md):
//   npx tsc -p tsconfig.json && node dist/test/helpers/make-sk-vectors.js
// Keys come from fixed seeds (reproducible public keys; ed25519 signatures are deterministic too, ECDSA ones
// are not, so a rerun changes the ecdsa *.sig files but never their verdicts). The verdicts in expected.json
// are what airlock and stock ssh-keygen -Y verify must answer; trust-sk-vectors.test.ts checks both.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';
import { FLAG_UP, FLAG_UV, makeEmulatedKey, SK_ECDSA, SK_ED25519, tokenSign, type EmulatedKey, type TokenSignOptions } from './sk-emulator.js';

export const VECTOR_DIR = path.join(PACKAGE_ROOT, 'test', 'vectors', 'sk');

export interface Vector {
  signature: string;
  principal: string;
  /** airlock's verdict: 'trusted' or the signer report's code */
  airlock: string;
  /** stock ssh-keygen -Y verify (with -r revoked, verify-required removed from its copy of allowed_signers) */
  sshKeygen: 'accept' | 'reject';
  why: string;
}

const seed = (name: string) => createHash('sha256').update(`airlock sk test vector: ${name}`).digest();

export function makeVectors(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const reviewer = makeEmulatedKey(SK_ED25519, { seed: seed('reviewer'), comment: 'reviewer@vectors.test' });
  const release = makeEmulatedKey(SK_ECDSA, { seed: seed('release'), comment: 'release@vectors.test' });
  const lost = makeEmulatedKey(SK_ED25519, { seed: seed('lost'), comment: 'lost@vectors.test' });
  const message = Buffer.from('{"schema":"airlock.bundle/v1","id":"sk-vectors-1","note":"stands in for airlock.json"}\n');
  writeFileSync(path.join(dir, 'message'), message);
  writeFileSync(
    path.join(dir, 'allowed_signers'),
    [
      `reviewer@vectors.test namespaces="airlock" ${reviewer.publicLine}`,
      `release@vectors.test namespaces="airlock",verify-required ${release.publicLine}`,
      `lost@vectors.test ${lost.publicLine}`,
    ].join('\n') + '\n',
  );
  writeFileSync(path.join(dir, 'revoked_keys'), `# lost on a train\n${lost.publicLine}\n`);
  const vectors: Vector[] = [];
  const add = (
    name: string,
    key: EmulatedKey,
    principal: string,
    o: TokenSignOptions,
    airlock: string,
    sshKeygen: Vector['sshKeygen'],
    why: string,
  ) => {
    writeFileSync(path.join(dir, `${name}.sig`), tokenSign(key, message, o));
    vectors.push({ signature: `${name}.sig`, principal, airlock, sshKeygen, why });
  };
  add('ed25519-sk-touched', reviewer, 'reviewer@vectors.test', { flags: FLAG_UP, counter: 7 }, 'trusted', 'accept', 'touched (flags 0x01)');
  add(
    'ed25519-sk-untouched',
    reviewer,
    'reviewer@vectors.test',
    { flags: 0, counter: 8 },
    'NO_USER_PRESENCE',
    'accept',
    'flags 0x00: airlock requires user presence, ssh-keygen never checks flags',
  );
  add(
    'ed25519-sk-wrong-application',
    reviewer,
    'reviewer@vectors.test',
    { signedApplication: 'ssh:elsewhere' },
    'SIGNATURE_INVALID',
    'reject',
    'the token signed for application "ssh:elsewhere", the key says "ssh:"',
  );
  add(
    'ecdsa-sk-verified',
    release,
    'release@vectors.test',
    { flags: FLAG_UP | FLAG_UV, counter: 1 },
    'trusted',
    'accept',
    'touched and PIN-verified (flags 0x05) for a verify-required line',
  );
  add(
    'ecdsa-sk-touched-only',
    release,
    'release@vectors.test',
    { flags: FLAG_UP, counter: 2 },
    'NO_USER_VERIFICATION',
    'accept',
    'verify-required without the UV flag: ssh-keygen knows neither the option nor the flag',
  );
  add(
    'ed25519-sk-revoked',
    lost,
    'lost@vectors.test',
    { flags: FLAG_UP },
    'KEY_REVOKED',
    'reject',
    'the key is in revoked_keys (ssh-keygen -r revoked_keys)',
  );
  writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(vectors, null, 2) + '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) makeVectors(process.argv[2] ?? VECTOR_DIR);
