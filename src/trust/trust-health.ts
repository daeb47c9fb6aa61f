// What a trust set can vouch for right now, for `doctor` and the demo-key warning. Pure: parsed files in.
import { SIGNATURE_NAMESPACE } from '../format/layout.js';
import type { AllowedSigner } from './allowed-signers.js';
import { matchPatternList } from './pattern.js';
import { fingerprint } from './public-key.js';
import { isRevoked, type RevokedKeys } from './revoked-keys.js';

/**
 * The demo key (fixtures/keys/demo_ed25519.pub, `ssh-keygen -lf`). Its private half is published with airlock, so a
 * trust file holding it, wherever it lives and whatever it is called, lets anyone sign bundles.
 */
export const DEMO_KEY_FINGERPRINT = 'SHA256:9kmxcila1+cOyhcwXswGD7cSIE9WITwNHFUtFvtGBKE';

export interface TrustSummary {
  /** distinct keys that can sign a bundle now: a line in date, allowing the airlock namespace, the key not revoked */
  usableKeys: number;
  /** distinct keys left out, by the reason their lines give (a key is counted once, under its first line's reason) */
  revokedKeys: number;
  notYetValidKeys: number;
  expiredKeys: number;
  otherNamespaceKeys: number;
  /** the demo key is among the usable keys */
  demoKey: boolean;
}

type Exclusion = 'notYetValidKeys' | 'expiredKeys' | 'otherNamespaceKeys';

// The line-level part of policy.ts's judgement that does not depend on a signature (verify-required does).
function lineExclusion(s: AllowedSigner, now: Date): Exclusion | undefined {
  if (s.namespaces && !matchPatternList(SIGNATURE_NAMESPACE, s.namespaces)) return 'otherNamespaceKeys';
  if (s.validAfter && now.getTime() < s.validAfter.getTime()) return 'notYetValidKeys';
  if (s.validBefore && now.getTime() > s.validBefore.getTime()) return 'expiredKeys';
  return undefined;
}

export function summarizeTrust(signers: readonly AllowedSigner[], revoked: RevokedKeys | undefined, now: Date): TrustSummary {
  const out: TrustSummary = { usableKeys: 0, revokedKeys: 0, notYetValidKeys: 0, expiredKeys: 0, otherNamespaceKeys: 0, demoKey: false };
  const byKey = new Map<string, AllowedSigner[]>();
  for (const s of signers) {
    const k = s.key.blob.toString('base64');
    byKey.set(k, [...(byKey.get(k) ?? []), s]);
  }
  for (const lines of byKey.values()) {
    const key = lines[0]!.key;
    if (isRevoked(revoked, key)) {
      out.revokedKeys++;
      continue;
    }
    const reasons = lines.map((s) => lineExclusion(s, now));
    if (reasons.some((r) => r === undefined)) {
      out.usableKeys++;
      if (fingerprint(key) === DEMO_KEY_FINGERPRINT) out.demoKey = true;
    } else out[reasons[0]!]++;
  }
  return out;
}
