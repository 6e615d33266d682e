/**
 * SHA-256 (FIPS 180-4) for the short inputs that dominate VEEN (tags, node pairs, leaf preimages, signing digests,
 * log frames; core/hash.ts sends long ones to node:crypto, whose per-call cost of ~1.2 µs dwarfs the compression
 * of a few blocks). The hash runs in WebAssembly: the module is assembled here, at load, by the small assembler
 * below (no binary blob, no build step), with the 64 rounds unrolled and the working variables renamed instead of
 * moved. JavaScript only copies the input in and the digest out. Against the same rounds in JavaScript a block
 * takes ~0.16 instead of ~0.25 µs (tests/sha256_bench.ts).
 *
 * Memory (one 64 KiB page): the state words at STATE (little-endian i32), the digest at OUT, input from INPUT on.
 * Exports: `init()` sets the state to the IV; `compress(ptr, n)` runs the n 64-byte blocks at ptr through it;
 * `finish(len, bitsLo, bitsHi)` pads the `len` bytes at INPUT with the message's bit length, compresses them and
 * writes the big-endian digest at OUT.
 */

const K = [
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
];

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

const STATE = 0;
const OUT = 32;
const INPUT = 64;
/** Input bytes gathered before whole blocks are compressed; the rest of the page leaves room for the padding. */
const CHUNK = 65536 - INPUT - 128;

// ---- a tiny assembler: just the opcodes the hash needs ----

const OP = {
  loop: 0x03,
  brIf: 0x0d,
  end: 0x0b,
  call: 0x10,
  get: 0x20,
  set: 0x21,
  tee: 0x22,
  load: 0x28,
  store: 0x36,
  store8: 0x3a,
  const: 0x41,
  add: 0x6a,
  sub: 0x6b,
  and: 0x71,
  or: 0x72,
  xor: 0x73,
  shrU: 0x76,
  rotl: 0x77,
  rotr: 0x78,
} as const;
/** memory.fill (bulk memory): 0xfc 11, memory 0. */
const MEMORY_FILL = [0xfc, 0x0b, 0x00];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  n |= 0;
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** One function's code: `locals` i32 locals after the parameters, then the instructions. */
class Code {
  readonly c: number[] = [];
  get = (l: number) => this.c.push(OP.get, ...uleb(l));
  set = (l: number) => this.c.push(OP.set, ...uleb(l));
  tee = (l: number) => this.c.push(OP.tee, ...uleb(l));
  k = (v: number) => this.c.push(OP.const, ...sleb(v));
  op = (...o: number[]) => this.c.push(...o);
  /** i32.load / i32.store at the address on the stack plus `offset`. */
  load = (offset: number) => this.c.push(OP.load, 2, ...uleb(offset));
  store = (offset: number) => this.c.push(OP.store, 2, ...uleb(offset));
  /** Replaces the i32 on the stack by its bytes reversed (big-endian ↔ little-endian), through local `t`. */
  bswap(t: number): void {
    this.tee(t), this.k(8), this.op(OP.rotl), this.k(0x00ff00ff), this.op(OP.and);
    this.get(t), this.k(8), this.op(OP.rotr), this.k(0xff00ff00 | 0), this.op(OP.and), this.op(OP.or);
  }
  /** Pushes rotr(x,a) ^ rotr(x,b) ^ (rotr|shr)(x,c) of local `x`. */
  sigma(x: number, a: number, b: number, c: number, shr: boolean): void {
    this.get(x), this.k(a), this.op(OP.rotr), this.get(x), this.k(b), this.op(OP.rotr), this.op(OP.xor);
    this.get(x), this.k(c), this.op(shr ? OP.shrU : OP.rotr), this.op(OP.xor);
  }
  body(locals: number): number[] {
    const decl = locals === 0 ? [0] : [1, ...uleb(locals), 0x7f];
    const b = [...decl, ...this.c, OP.end];
    return [...uleb(b.length), ...b];
  }
}

/** `init()`: the state is the IV. */
function initCode(): number[] {
  const f = new Code();
  for (let i = 0; i < 8; i++) f.k(0), f.k(IV[i]!), f.store(STATE + 4 * i);
  return f.body(0);
}

/** `compress(ptr, n)`, n ≥ 1: all 64 rounds unrolled. */
function compressCode(): number[] {
  const f = new Code();
  // locals: 0 ptr, 1 n, 2..9 state A..H, 10..17 working v0..v7, 18..81 W[0..63], 82 t
  const PTR = 0, N = 1, ST = 2, V = 10, W = 18, T = 82;
  for (let i = 0; i < 8; i++) f.k(0), f.load(STATE + 4 * i), f.set(ST + i);
  f.op(OP.loop, 0x40);
  for (let i = 0; i < 16; i++) f.get(PTR), f.load(4 * i), f.bswap(T), f.set(W + i);
  for (let i = 16; i < 64; i++) {
    f.sigma(W + i - 2, 17, 19, 10, true), f.get(W + i - 7), f.op(OP.add);
    f.sigma(W + i - 15, 7, 18, 3, true), f.op(OP.add), f.get(W + i - 16), f.op(OP.add), f.set(W + i);
  }
  for (let i = 0; i < 8; i++) f.get(ST + i), f.set(V + i);
  // Role r of round i lives in local V + ((r - i) mod 8): nothing moves between rounds.
  for (let i = 0; i < 64; i++) {
    const role = (r: number) => V + ((r - i + 64) % 8);
    const a = role(0),
      b = role(1),
      c = role(2),
      d = role(3),
      e = role(4),
      ff = role(5),
      g = role(6),
      h = role(7);
    // T1 = h + S1(e) + ch(e,f,g) + K[i] + W[i], ch = g ^ (e & (f ^ g))
    f.get(h), f.sigma(e, 6, 11, 25, false), f.op(OP.add);
    f.get(g), f.get(e), f.get(ff), f.get(g), f.op(OP.xor, OP.and, OP.xor, OP.add);
    f.k(K[i]!), f.op(OP.add), f.get(W + i), f.op(OP.add), f.set(T);
    f.get(d), f.get(T), f.op(OP.add), f.set(d); // d += T1
    // h = T1 + S0(a) + maj(a,b,c), maj = (a & b) | (c & (a | b)): the next round's a
    f.get(T), f.sigma(a, 2, 13, 22, false), f.op(OP.add);
    f.get(a), f.get(b), f.op(OP.and), f.get(c), f.get(a), f.get(b), f.op(OP.or, OP.and, OP.or, OP.add);
    f.set(h);
  }
  // After 64 rounds every role is back in its local: state += working variables.
  for (let i = 0; i < 8; i++) f.get(ST + i), f.get(V + i), f.op(OP.add), f.set(ST + i);
  f.get(PTR), f.k(64), f.op(OP.add), f.set(PTR);
  f.get(N), f.k(1), f.op(OP.sub), f.tee(N), f.op(OP.brIf, 0, OP.end);
  for (let i = 0; i < 8; i++) f.k(0), f.get(ST + i), f.store(STATE + 4 * i);
  return f.body(T - 1);
}

/** `finish(len, bitsLo, bitsHi)`: padding after the len bytes at INPUT, their blocks, the digest at OUT. */
function finishCode(): number[] {
  const f = new Code();
  const LEN = 0, LO = 1, HI = 2, END = 3, T = 4;
  f.k(INPUT), f.get(LEN), f.op(OP.add), f.k(0x80), f.op(OP.store8, 0, 0); // 0x80 after the message
  f.get(LEN), f.k(72), f.op(OP.add), f.k(-64), f.op(OP.and), f.set(END); // whole blocks with 9 bytes more
  f.k(INPUT + 1),
    f.get(LEN),
    f.op(OP.add),
    f.k(0),
    f.get(END),
    f.k(9),
    f.op(OP.sub),
    f.get(LEN),
    f.op(OP.sub);
  f.op(...MEMORY_FILL); // zeros up to the length
  f.k(INPUT - 8), f.get(END), f.op(OP.add), f.get(HI), f.bswap(T), f.store(0);
  f.k(INPUT - 4), f.get(END), f.op(OP.add), f.get(LO), f.bswap(T), f.store(0);
  f.k(INPUT), f.get(END), f.k(6), f.op(OP.shrU), f.op(OP.call, 1); // compress (function 1)
  for (let i = 0; i < 8; i++) f.k(0), f.k(0), f.load(STATE + 4 * i), f.bswap(T), f.store(OUT + 4 * i);
  return f.body(2);
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

const name = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];

/** The module's bytes: functions 0 init, 1 compress, 2 finish, and the memory. */
function sha256Module(): Uint8Array {
  const I32 = 0x7f;
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    // types: 0 () -> (), 1 (i32 i32) -> (), 2 (i32 i32 i32) -> ()
    ...section(1, [3, 0x60, 0, 0, 0x60, 2, I32, I32, 0, 0x60, 3, I32, I32, I32, 0]),
    ...section(3, [3, 0, 1, 2]),
    ...section(5, [1, 0, 1]), // one memory of one page
    ...section(
      7,
      [4, ...name("init"), 0, 0, ...name("compress"), 0, 1, ...name("finish"), 0, 2]
        .concat([...name("memory"), 2, 0]),
    ),
    ...section(10, [3, ...initCode(), ...compressCode(), ...finishCode()]),
  ]);
}

// ---- the hash over the module ----

const wasm = new WebAssembly.Instance(new WebAssembly.Module(sha256Module() as BufferSource)).exports as {
  init: () => void;
  compress: (ptr: number, n: number) => void;
  finish: (len: number, bitsLo: number, bitsHi: number) => void;
  memory: WebAssembly.Memory;
};
const MEM = new Uint8Array(wasm.memory.buffer);

/**
 * SHA-256 of the concatenation of `prefix` (when given) and `parts`, each copied once into the module's memory
 * (the prefix saves `Ht` a copy of its parts array).
 */
export function sha256Parts(parts: readonly Uint8Array[], prefix?: Uint8Array): Uint8Array {
  wasm.init();
  let fill = 0; // bytes waiting at INPUT
  let total = 0;
  for (let k = prefix === undefined ? 0 : -1; k < parts.length; k++) {
    const p = k < 0 ? prefix! : parts[k]!;
    total += p.length;
    if (fill + p.length <= CHUNK) {
      MEM.set(p, INPUT + fill);
      fill += p.length;
      continue;
    }
    for (let i = 0; i < p.length;) {
      const take = Math.min(CHUNK - fill, p.length - i);
      MEM.set(p.subarray(i, i + take), INPUT + fill);
      fill += take;
      i += take;
      if (fill === CHUNK) {
        wasm.compress(INPUT, CHUNK / 64);
        fill = 0;
      }
    }
  }
  wasm.finish(fill, (total * 8) >>> 0, Math.floor(total / 0x2000_0000));
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = MEM[OUT + i]!;
  return out;
}
