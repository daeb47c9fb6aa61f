// The SSH key types airlock verifies, as typed values. Pure.

export const ED25519 = 'ssh-ed25519';
export const SK_ED25519 = 'sk-ssh-ed25519@openssh.com';
export const ECDSA_P256 = 'ecdsa-sha2-nistp256';
export const SK_ECDSA_P256 = 'sk-ecdsa-sha2-nistp256@openssh.com';
export const KEY_TYPES = [ED25519, SK_ED25519, ECDSA_P256, SK_ECDSA_P256] as const;
export type KeyType = (typeof KEY_TYPES)[number];

interface KeyCommon {
  /** The SSH wire blob, exactly as in the .pub line; two keys are the same key when their blobs are equal. */
  blob: Buffer;
  comment?: string;
}

export interface Ed25519PublicKey extends KeyCommon {
  type: typeof ED25519;
  /** The 32-byte ed25519 public key. */
  raw: Buffer;
}

export interface SkEd25519PublicKey extends KeyCommon {
  type: typeof SK_ED25519;
  raw: Buffer;
  /** PROTOCOL.u2f: the FIDO application (relying party id) the token signs for; "ssh:" unless chosen at ssh-keygen time. */
  application: string;
}

export interface EcdsaPublicKey extends KeyCommon {
  type: typeof ECDSA_P256;
  /** The uncompressed P-256 point (0x04 ‖ x ‖ y, 65 bytes). */
  point: Buffer;
}

export interface SkEcdsaPublicKey extends KeyCommon {
  type: typeof SK_ECDSA_P256;
  point: Buffer;
  application: string;
}

export type PublicKey = Ed25519PublicKey | SkEd25519PublicKey | EcdsaPublicKey | SkEcdsaPublicKey;
export type SecurityKey = SkEd25519PublicKey | SkEcdsaPublicKey;

export function isSecurityKey(key: PublicKey): key is SecurityKey {
  return key.type === SK_ED25519 || key.type === SK_ECDSA_P256;
}

export function isKeyType(type: string): type is KeyType {
  return (KEY_TYPES as readonly string[]).includes(type);
}

/** A token that names an SSH key type (plain, security-key or certificate), as opposed to an option or garbage. */
export function looksLikeKeyType(token: string): boolean {
  return /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/.test(token);
}

/** Why a key type is refused, in words a person can act on. */
export function unsupportedKeyMessage(type: string): string {
  if (type.endsWith('-cert-v01@openssh.com')) return `${type}: OpenSSH certificates are not supported; list the signer's plain key`;
  return `${type} keys are not supported; airlock verifies ${KEY_TYPES.join(', ')}`;
}

/** A key without its blob and comment: what a blob encodes. */
export type KeyMaterial = PublicKey extends infer K ? (K extends PublicKey ? Omit<K, 'blob' | 'comment'> : never) : never;
