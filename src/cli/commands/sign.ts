// airlock sign: add an SSHSIG signature over a bundle's manifest, never touching the bundle's other bytes.
import path from 'node:path';
import { openBundle, type OpenedBundle } from '../../bundle/open-bundle.js';
import { AirlockError } from '../../errors.js';
import { SIGNATURE_NAMESPACE, SIGNATURES_DIR } from '../../format/layout.js';
import { terminalPrompt } from '../../trust/passphrase-prompt.js';
import { checkLabel, defaultLabel, writeSignatureFile } from '../../trust/signature-file.js';
import { fingerprint, loadPrivateKey, sameKey, type PrivateKey } from '../../trust/ssh-key.js';
import { parseSshsig, signSshsig, verifySshsig } from '../../trust/sshsig.js';
import { onePositional, parseCommandArgs, requireOption, writeLines, type CliIO } from '../command.js';

export const summary = 'sign or countersign a bundle with an OpenSSH ed25519 key';
export const usage = `usage: airlock sign BUNDLE --key KEY [--label LABEL] [--passphrase-file FILE]
  Signs the exact bytes of airlock.json as \`ssh-keygen -Y sign -n airlock\` would (SSHSIG, sha512).
  BUNDLE is a bundle directory (writes signatures/LABEL.sig), a *.airlock.tar, a *.airlock.parts.json
  or its first part (writes <base>.airlock.signatures/LABEL.sig beside it; the tar is never rewritten).
  LABEL ([A-Za-z0-9][A-Za-z0-9._-]{0,63}) defaults to the key's comment made filename-safe.
  A passphrase-protected key asks on the terminal, or reads the passphrase from --passphrase-file.`;

/** Where new signatures for this bundle go: inside a directory bundle, beside a tar or split one. */
function signatureDir(bundle: OpenedBundle): string {
  return bundle.where.form === 'dir' ? path.join(bundle.where.dir, SIGNATURES_DIR) : bundle.where.sidecarDir;
}

/** An existing signature by the same key over these bytes: a second one would not count (threshold counts keys). */
function existingSignatureBy(bundle: OpenedBundle, key: PrivateKey): string | undefined {
  for (const s of bundle.signatures) {
    try {
      const sig = parseSshsig(s.bytes, s.name);
      if (sameKey(sig.publicKey, key.public) && !verifySshsig(bundle.manifestBytes, sig, SIGNATURE_NAMESPACE)) return s.name;
    } catch {
      // someone else's malformed signature is verify's business, not ours
    }
  }
  return undefined;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const options = { key: { type: 'string' }, label: { type: 'string' }, 'passphrase-file': { type: 'string' } } as const;
  const { values, positionals } = parseCommandArgs(argv, options, usage);
  const location = path.resolve(io.cwd, onePositional(positionals, 'BUNDLE', usage));
  const keyFile = path.resolve(io.cwd, requireOption(values.key, '--key', usage));
  const label = values.label === undefined ? undefined : checkLabel(values.label);
  const passphraseFile = values['passphrase-file'] === undefined ? undefined : path.resolve(io.cwd, values['passphrase-file']);

  const bundle = await openBundle(location); // parses and validates airlock.json before we vouch for it
  const prompt = terminalPrompt(io.stdin, io.stderr);
  const key = await loadPrivateKey(keyFile, {
    ...(passphraseFile ? { passphraseFile } : {}),
    ...(prompt ? { prompt } : {}),
    warn: (m) => writeLines(io, [`airlock: warning: ${m}`], 'stderr'),
  });
  const already = existingSignatureBy(bundle, key);
  if (already) {
    writeLines(io, [`already signed by ${fingerprint(key.public)} in ${already}; nothing written`]);
    return 0;
  }
  const text = signSshsig(bundle.manifestBytes, key, SIGNATURE_NAMESPACE);
  const check = verifySshsig(bundle.manifestBytes, parseSshsig(Buffer.from(text), 'new signature'), SIGNATURE_NAMESPACE);
  if (check) throw new AirlockError('INTERNAL', `the signature just made does not verify: ${check.message}`);
  const { file, outcome } = await writeSignatureFile(signatureDir(bundle), label ?? defaultLabel(key.public), text);
  writeLines(io, [
    `bundle       ${bundle.manifest.id} (manifest sha256 ${bundle.digest})`,
    `key          ${fingerprint(key.public)}${key.public.comment ? ` ${key.public.comment}` : ''}`,
    `${(outcome === 'written' ? 'wrote' : 'unchanged').padEnd(13)}${file}`,
  ]);
  return 0;
}
