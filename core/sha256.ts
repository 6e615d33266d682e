/**
 * SHA-256 (FIPS 180-4) for the short inputs that dominate VEEN (tags, 32/64-byte node pairs, leaf preimages,
 * signing digests): a single-threaded, allocation-light implementation with a reused message schedule. For short
 * inputs it is faster than `node:crypto` under Deno, whose per-call overhead (~1.5 µs and a Hash object) dwarfs the
 * compression itself; long inputs go to `node:crypto` (see hash.ts).
 */

/** Int32Array, not Uint32Array: words above 2^31 would be read back as doubles and leave V8's int32 fast path. */
const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

const W = new Int32Array(64);
const S = new Int32Array(8);
/** Scratch for the final block(s): at most two 64-byte blocks of tail + padding. */
const TAIL = new Uint8Array(128);

function compress(b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    W[i] = (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = S[0]!, b2 = S[1]!, c = S[2]!, d = S[3]!, e = S[4]!, f = S[5]!, g = S[6]!, h = S[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b2) ^ (a & c) ^ (b2 & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b2;
    b2 = a;
    a = (t1 + t2) | 0;
  }
  S[0] = (S[0]! + a) | 0;
  S[1] = (S[1]! + b2) | 0;
  S[2] = (S[2]! + c) | 0;
  S[3] = (S[3]! + d) | 0;
  S[4] = (S[4]! + e) | 0;
  S[5] = (S[5]! + f) | 0;
  S[6] = (S[6]! + g) | 0;
  S[7] = (S[7]! + h) | 0;
}

/** SHA-256 of the concatenation of `parts` (no intermediate copy of the whole message). */
export function sha256Parts(parts: readonly Uint8Array[]): Uint8Array {
  S[0] = 0x6a09e667;
  S[1] = 0xbb67ae85;
  S[2] = 0x3c6ef372;
  S[3] = 0xa54ff53a;
  S[4] = 0x510e527f;
  S[5] = 0x9b05688c;
  S[6] = 0x1f83d9ab;
  S[7] = 0x5be0cd19;
  let fill = 0; // bytes pending in TAIL
  let total = 0;
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    const n = p.length;
    total += n;
    let i = 0;
    // Byte loops, not subarray + set: parts are mostly short, and a view per part was 9 % of /submit's garbage.
    if (fill > 0) {
      const take = Math.min(64 - fill, n);
      for (; i < take; i++) TAIL[fill + i] = p[i]!;
      fill += take;
      if (fill === 64) {
        compress(TAIL, 0);
        fill = 0;
      }
    }
    for (; i + 64 <= n; i += 64) compress(p, i);
    for (; i < n; i++) TAIL[fill++] = p[i]!;
  }
  TAIL[fill] = 0x80;
  TAIL.fill(0, fill + 1);
  const end = fill + 1 + 8 <= 64 ? 64 : 128;
  const bits = total * 8;
  const hi = Math.floor(bits / 0x1_0000_0000);
  const lo = bits >>> 0;
  TAIL[end - 8] = hi >>> 24;
  TAIL[end - 7] = (hi >>> 16) & 0xff;
  TAIL[end - 6] = (hi >>> 8) & 0xff;
  TAIL[end - 5] = hi & 0xff;
  TAIL[end - 4] = lo >>> 24;
  TAIL[end - 3] = (lo >>> 16) & 0xff;
  TAIL[end - 2] = (lo >>> 8) & 0xff;
  TAIL[end - 1] = lo & 0xff;
  compress(TAIL, 0);
  if (end === 128) compress(TAIL, 64);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = S[i]!;
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = (v >>> 16) & 0xff;
    out[4 * i + 2] = (v >>> 8) & 0xff;
    out[4 * i + 3] = v & 0xff;
  }
  return out;
}
