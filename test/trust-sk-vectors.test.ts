// The committed security-key vectors (test/vectors/sk, made by test/helpers/make-sk-vectors.ts): airlock and
// stock ssh-keygen -Y verify must each give the verdict recorded in expected.json, whoever changes what.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllowedSignersFile } from '../src/trust/allowed-signers.js';
import { evaluateSignatures } from '../src/trust/policy.js';
import { parseRevokedKeys } from '../src/trust/revoked-keys.js';
import { sshVerifyWith } from './helpers/keys.js';
import { VECTOR_DIR, type Vector } from './helpers/make-sk-vectors.js';

const read = (name: string) => readFileSync(path.join(VECTOR_DIR, name));
const vectors = JSON.parse(read('expected.json').toString('utf8')) as Vector[];
const message = read('message');
const asText = read('allowed_signers').toString('utf8');
const { signers } = parseAllowedSignersFile(asText, 'allowed_signers');
const revoked = parseRevokedKeys(read('revoked_keys'), 'revoked_keys');
const dir = t.testdir();
// Stock ssh-keygen refuses the verify-required option (docs/keys.md): its copy of the file goes without it.
const openssh = path.join(dir, 'allowed_signers.openssh');
writeFileSync(openssh, asText.replace(/,verify-required/g, ''));

t.ok(vectors.length >= 6, 'the vectors are there');
for (const v of vectors) {
  t.test(v.signature, async (t) => {
    const signature = read(v.signature).toString('utf8');
    const report = evaluateSignatures(message, [{ name: v.signature, bytes: Buffer.from(signature) }], signers, {
      threshold: 1,
      now: new Date(),
      revoked,
    });
    const got = report.signers[0]!;
    t.equal(got.status === 'trusted' ? 'trusted' : got.code, v.airlock, `airlock: ${v.why}`);
    const ssh = sshVerifyWith(dir, {
      allowedSigners: openssh,
      principal: v.principal,
      signature,
      message,
      revoked: path.join(VECTOR_DIR, 'revoked_keys'),
    });
    t.equal(ssh.status === 0 ? 'accept' : 'reject', v.sshKeygen, `ssh-keygen -Y verify: ${v.why}`);
  });
}
