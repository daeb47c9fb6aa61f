// Docker's multiplexed log format (non-TTY containers): frames of [stream, 0, 0, 0, size32be] + payload.

/** The text of a multiplexed log buffer, stdout and stderr interleaved as written; raw text passes through. */
export function demuxLogBuffer(buf: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const stream = buf[at];
    if (stream !== 0 && stream !== 1 && stream !== 2) return buf.toString('utf8'); // a TTY container: not framed
    const size = buf.readUInt32BE(at + 4);
    parts.push(buf.subarray(at + 8, Math.min(buf.length, at + 8 + size)));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
