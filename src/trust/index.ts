// The trust layer: OpenSSH keys, SSHSIG signatures, allowed_signers, revoked keys, the threshold policy, signers.
export * from './ssh-key.js';
export * from './sshsig.js';
export * from './allowed-signers.js';
export * from './policy.js';
export * from './revoked-keys.js';
export * from './load-trust.js';
export type { SshsigSigner } from './signer.js';
export { signerForKeyFile } from './key-file-signer.js';
export { agentSigner } from './agent-signer.js';
export { terminalPrompt } from './passphrase-prompt.js';
export { checkLabel, defaultLabel, writeSignatureFile, LABEL_PATTERN } from './signature-file.js';
