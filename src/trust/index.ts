// The trust layer: OpenSSH keys, SSHSIG signatures, allowed_signers, and the threshold policy.
export * from './ssh-key.js';
export * from './sshsig.js';
export * from './allowed-signers.js';
export * from './policy.js';
export { terminalPrompt } from './passphrase-prompt.js';
export { checkLabel, defaultLabel, writeSignatureFile, LABEL_PATTERN } from './signature-file.js';
