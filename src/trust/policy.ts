// Trust decisions over a bundle's signatures: which verify, who made them, and whether enough distinct
// trusted keys signed. Pure: bytes and parsed allowed_signers in, a report out.
import { AirlockError, type ErrorCode, type Failure } from '../errors.js';
import { SIGNATURE_NAMESPACE } from '../format/layout.js';
import type { AllowedSigner } from './allowed-signers.js';
import { lacksUserPresence, SK_USER_VERIFIED } from './key-signature.js';
import { matchPatternList } from './pattern.js';
import { fingerprint } from './public-key.js';
import { isRevoked, type RevokedKeys } from './revoked-keys.js';
import { parseSshsig, verifySshsig, type ParsedSshsig } from './sshsig.js';

export interface SignatureInput {
  /** The signature's name as a person sees it (e.g. signatures/alice.sig). */
  name: string;
  bytes: Buffer;
}

export interface SignerReport {
  signature: string;
  status: 'trusted' | 'untrusted' | 'invalid' | 'revoked' | 'duplicate';
  fingerprint?: string;
  keyType?: string;
  principals: string[];
  code?: ErrorCode;
  message?: string;
}

export interface TrustReport {
  threshold: number;
  trustedKeys: number;
  satisfied: boolean;
  signers: SignerReport[];
  failures: Failure[];
  /** a split bundle's parts index, judged by the same trust file and threshold (bundle/parts-trust.ts) */
  partsIndex?: PartsIndexTrust;
}

/** The signatures over a parts index (namespace airlock-parts); an index without any is read for integrity only. */
export interface PartsIndexTrust {
  /** the index's file name */
  index: string;
  signed: boolean;
  trustedKeys: number;
  satisfied: boolean;
  signers: SignerReport[];
}

export interface EvaluateOptions {
  threshold: number;
  now: Date;
  namespace?: string;
  /** Keys whose signatures never count, whatever allowed_signers says. */
  revoked?: RevokedKeys;
}

type Checked = { report: SignerReport; sig?: ParsedSshsig };

/** Parse and verify one signature; a report with status 'invalid' when either step fails, 'revoked' for a revoked key. */
function checkSignature(manifestBytes: Buffer, input: SignatureInput, namespace: string, revoked: RevokedKeys | undefined): Checked {
  let sig: ParsedSshsig;
  try {
    sig = parseSshsig(input.bytes, input.name);
  } catch (err) {
    if (!(err instanceof AirlockError)) throw err;
    return { report: { signature: input.name, status: 'invalid', principals: [], code: err.code, message: err.message } };
  }
  const base = { signature: input.name, fingerprint: fingerprint(sig.publicKey), keyType: sig.publicKey.type, principals: [] };
  const failure = verifySshsig(manifestBytes, sig, namespace) ?? presenceFailure(sig);
  if (failure) return { report: { ...base, status: 'invalid', code: failure.code, message: failure.message } };
  if (isRevoked(revoked, sig.publicKey)) {
    return {
      report: {
        ...base,
        status: 'revoked',
        code: 'KEY_REVOKED',
        message: `${input.name}: key ${base.fingerprint} is listed in the revoked keys ${revoked!.origin}`,
      },
    };
  }
  return { report: { ...base, status: 'untrusted' }, sig };
}

/**
 * PROTOCOL.u2f: a security key sets the user-presence flag only when someone touched it. airlock requires it
 * always (stock `ssh-keygen -Y verify` does not look at the flags; see docs/keys.md).
 */
function presenceFailure(sig: ParsedSshsig): Failure | undefined {
  const sk = sig.signature.sk;
  if (!sk || !lacksUserPresence(sig.signature)) return undefined;
  return {
    code: 'NO_USER_PRESENCE',
    path: sig.origin,
    message: `${sig.origin}: the security key did not confirm user presence (flags 0x${sk.flags.toString(16).padStart(2, '0')}): nobody touched it`,
  };
}

/** Why an allowed_signers line does not vouch for a signature right now, or undefined when it does. */
function lineProblem(signer: AllowedSigner, sig: ParsedSshsig, namespace: string, now: Date): { code: ErrorCode; why: string } | undefined {
  if (signer.verifyRequired && ((sig.signature.sk?.flags ?? 0) & SK_USER_VERIFIED) === 0) {
    // Like sshd's verify-required: only a security key's signature with the user-verified flag (PIN, biometric) counts.
    const what = sig.signature.sk ? 'the security key did not verify its user' : `a plain ${sig.publicKey.type} key cannot show user verification`;
    return { code: 'NO_USER_VERIFICATION', why: `line ${signer.line} is verify-required, but ${what}` };
  }
  if (signer.namespaces && !matchPatternList(namespace, signer.namespaces)) {
    return { code: 'WRONG_NAMESPACE', why: `line ${signer.line} limits this key to namespaces="${signer.namespaces.join(',')}"` };
  }
  // Bounds are inclusive, as in OpenSSH's sshsig check_allowed_keys_line.
  if (signer.validAfter && now.getTime() < signer.validAfter.getTime()) {
    return { code: 'SIGNER_NOT_VALID_NOW', why: `line ${signer.line}: key not valid before ${signer.validAfter.toISOString()}` };
  }
  if (signer.validBefore && now.getTime() > signer.validBefore.getTime()) {
    return { code: 'SIGNER_NOT_VALID_NOW', why: `line ${signer.line}: key expired at ${signer.validBefore.toISOString()}` };
  }
  return undefined;
}

/** Decide trust for a crypto-valid signature: every allowed_signers line holding its key is considered. */
function judge(report: SignerReport, sig: ParsedSshsig, signers: AllowedSigner[], namespace: string, now: Date): SignerReport {
  const lines = signers.filter((s) => s.key.blob.equals(sig.publicKey.blob));
  if (lines.length === 0) {
    return {
      ...report,
      status: 'untrusted',
      code: 'UNTRUSTED_SIGNER',
      message: `${report.signature}: key ${report.fingerprint} is not in the allowed signers`,
    };
  }
  const usable = lines.filter((s) => !lineProblem(s, sig, namespace, now));
  if (usable.length === 0) {
    const problem = lineProblem(lines[0]!, sig, namespace, now)!;
    const principals = [...new Set(lines.flatMap((s) => s.principals))];
    return { ...report, status: 'untrusted', principals, code: problem.code, message: `${report.signature}: ${problem.why}` };
  }
  return { ...report, status: 'trusted', principals: [...new Set(usable.flatMap((s) => s.principals))] };
}

/** One report per signature, without a trust file: who signed (fingerprint), whether it verifies, whether revoked. */
export function describeSignatures(
  manifestBytes: Buffer,
  signatures: SignatureInput[],
  revoked?: RevokedKeys,
  namespace: string = SIGNATURE_NAMESPACE,
): SignerReport[] {
  const seen = new Set<string>();
  return signatures.map((input) => {
    const { report, sig } = checkSignature(manifestBytes, input, namespace, revoked);
    if (!sig) return report;
    if (seen.has(report.fingerprint!)) return { ...report, status: 'duplicate' };
    seen.add(report.fingerprint!);
    return report;
  });
}

/**
 * The threshold rule: at least `threshold` DISTINCT trusted keys must have validly signed the exact
 * manifest bytes. Untrusted or invalid extras do not block a satisfied policy but stay visible in `signers`.
 */
export function evaluateSignatures(
  manifestBytes: Buffer,
  signatures: SignatureInput[],
  signers: AllowedSigner[],
  opts: EvaluateOptions,
): TrustReport {
  if (!Number.isInteger(opts.threshold) || opts.threshold < 1) {
    throw new AirlockError('CONFIG_INVALID', `signature threshold must be an integer ≥ 1, got ${opts.threshold}`);
  }
  const namespace = opts.namespace ?? SIGNATURE_NAMESPACE;
  const counted = new Set<string>();
  const reports = signatures.map((input) => {
    const { report, sig } = checkSignature(manifestBytes, input, namespace, opts.revoked);
    if (!sig) return report;
    // A second signature by the same key adds nothing: the threshold counts keys, not files.
    if (counted.has(report.fingerprint!))
      return { ...report, status: 'duplicate' as const, message: `${input.name}: same key as an earlier signature` };
    const judged = judge(report, sig, signers, namespace, opts.now);
    counted.add(report.fingerprint!);
    return judged;
  });
  const trustedKeys = reports.filter((r) => r.status === 'trusted').length;
  const satisfied = trustedKeys >= opts.threshold;
  return {
    threshold: opts.threshold,
    trustedKeys,
    satisfied,
    signers: reports,
    failures: satisfied ? [] : thresholdFailures(reports, trustedKeys, opts.threshold),
  };
}

function thresholdFailures(reports: SignerReport[], trustedKeys: number, threshold: number): Failure[] {
  if (reports.length === 0) return [{ code: 'NO_SIGNATURES', message: `the bundle has no signatures; ${threshold} trusted signature(s) required` }];
  const failures: Failure[] = reports
    .filter((r) => r.status === 'invalid' || r.status === 'untrusted' || r.status === 'revoked')
    .map((r) => ({ code: r.code ?? 'UNTRUSTED_SIGNER', path: r.signature, message: r.message ?? `${r.signature}: not trusted` }));
  const duplicates = reports.filter((r) => r.status === 'duplicate').length;
  const note = duplicates > 0 ? ` (${duplicates} signature(s) by an already counted key ignored)` : '';
  failures.push({ code: 'THRESHOLD_NOT_MET', message: `${trustedKeys} distinct trusted key(s) signed, ${threshold} required${note}` });
  return failures;
}
