// SSH wire encoding (RFC 4251 §5): uint32 and length-prefixed strings, as used by keys and SSHSIG.

/** Thrown by WireReader on truncated input; callers turn it into their own typed error. */
export class WireError extends Error {
  override name = 'WireError';
}

export class WireReader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  bytes(n: number): Buffer {
    if (n > this.remaining) throw new WireError(`truncated: wanted ${n} bytes, ${this.remaining} left`);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  uint32(): number {
    return this.bytes(4).readUInt32BE(0);
  }

  string(): Buffer {
    return this.bytes(this.uint32());
  }

  /** A string that must be UTF-8 text (key type names, namespaces, comments). */
  text(): string {
    const b = this.string();
    const s = b.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(b)) throw new WireError('string is not valid UTF-8');
    return s;
  }

  /** Everything must have been consumed: trailing bytes make a blob ambiguous. */
  end(what: string): void {
    if (this.remaining !== 0) throw new WireError(`${this.remaining} trailing bytes after ${what}`);
  }
}

export class WireWriter {
  private readonly parts: Buffer[] = [];

  raw(b: Buffer | string): this {
    this.parts.push(typeof b === 'string' ? Buffer.from(b, 'utf8') : b);
    return this;
  }

  uint32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0, 0);
    this.parts.push(b);
    return this;
  }

  string(b: Buffer | string): this {
    const data = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
    return this.uint32(data.length).raw(data);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Strict base64: only the standard alphabet, correct padding, canonical (re-encodes to the same text). */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const out = Buffer.from(text, 'base64');
  return out.toString('base64') === text ? out : undefined;
}

/** Base64 wrapped at `width` columns, each line ending in a newline (OpenSSH's sshbuf_dtob64 wraps at 70). */
export function wrapBase64(data: Buffer, width: number): string {
  const b64 = data.toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += width) out += b64.slice(i, i + width) + '\n';
  return out;
}
