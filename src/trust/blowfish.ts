// Blowfish's key schedule primitives as OpenBSD's blf.c exposes them to bcrypt_pbkdf (encryption only).

const P_WORDS = 18;
const S_WORDS = 1024;
let initial: Uint32Array | undefined;

/**
 * Blowfish's initial P-array and S-boxes are the fractional hex digits of pi, in that order
 * (P[0] = 0x243f6a88 … S4[255] = 0x3ac372e6). Computing them (Machin's formula, ~50 ms once)
 * replaces a 1042-word table that would have to be checked by eye.
 */
function initialState(): Uint32Array {
  if (initial) return initial;
  const words = P_WORDS + S_WORDS;
  const bits = BigInt(words * 32 + 64); // 64 guard bits absorb the series' rounding
  const one = 1n << bits;
  const atanInv = (x: bigint): bigint => {
    const x2 = x * x;
    let power = one / x;
    let sum = power;
    for (let n = 1n; ; n++) {
      power /= x2;
      const term = power / (2n * n + 1n);
      if (term === 0n) return sum;
      sum += n % 2n === 1n ? -term : term;
    }
  };
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n);
  const hex = ((pi & (one - 1n)) >> 64n).toString(16).padStart(words * 8, '0');
  initial = new Uint32Array(words);
  for (let i = 0; i < words; i++) initial[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  return initial;
}

/** blf.c Blowfish_stream2word: the next 4 bytes of `data`, cycling, big-endian. */
export function streamToWord(data: Uint8Array, cursor: { j: number }): number {
  let word = 0;
  for (let i = 0; i < 4; i++) {
    if (cursor.j >= data.length) cursor.j = 0;
    word = ((word << 8) | data[cursor.j]!) >>> 0;
    cursor.j++;
  }
  return word;
}

export class Blowfish {
  private readonly p: Uint32Array;
  private readonly s: Uint32Array;
  private readonly block = new Uint32Array(2);

  constructor() {
    const init = initialState();
    this.p = init.slice(0, P_WORDS);
    this.s = init.slice(P_WORDS);
  }

  /** Encrypt the 64-bit block (l, r) in place in `this.block`. */
  private encipher(): void {
    const p = this.p;
    const s = this.s;
    let l = this.block[0]! ^ p[0]!;
    let r = this.block[1]!;
    for (let i = 1; i <= 16; i += 2) {
      r ^= (((s[l >>> 24]! + s[0x100 | ((l >>> 16) & 0xff)]!) ^ s[0x200 | ((l >>> 8) & 0xff)]!) + s[0x300 | (l & 0xff)]!) ^ p[i]!;
      l ^= (((s[r >>> 24]! + s[0x100 | ((r >>> 16) & 0xff)]!) ^ s[0x200 | ((r >>> 8) & 0xff)]!) + s[0x300 | (r & 0xff)]!) ^ p[i + 1]!;
    }
    this.block[0] = r ^ p[17]!;
    this.block[1] = l;
  }

  /** blf.c Blowfish_expandstate (salt = data) when `data` is given, Blowfish_expand0state otherwise. */
  expand(key: Uint8Array, data?: Uint8Array): void {
    const keyCursor = { j: 0 };
    for (let i = 0; i < P_WORDS; i++) this.p[i] = this.p[i]! ^ streamToWord(key, keyCursor);
    const dataCursor = { j: 0 };
    this.block[0] = 0;
    this.block[1] = 0;
    const fill = (target: Uint32Array, count: number): void => {
      for (let i = 0; i < count; i += 2) {
        if (data) {
          this.block[0] = this.block[0]! ^ streamToWord(data, dataCursor);
          this.block[1] = this.block[1]! ^ streamToWord(data, dataCursor);
        }
        this.encipher();
        target[i] = this.block[0]!;
        target[i + 1] = this.block[1]!;
      }
    };
    fill(this.p, P_WORDS);
    fill(this.s, S_WORDS);
  }

  /** blf_enc: encrypt consecutive 64-bit blocks of `words` in place. */
  encryptWords(words: Uint32Array): void {
    for (let i = 0; i < words.length; i += 2) {
      this.block[0] = words[i]!;
      this.block[1] = words[i + 1]!;
      this.encipher();
      words[i] = this.block[0]!;
      words[i + 1] = this.block[1]!;
    }
  }
}

/** Exposed for a test that pins the computed constants against published Blowfish words. */
export function blowfishInitialWords(): Uint32Array {
  return initialState();
}
