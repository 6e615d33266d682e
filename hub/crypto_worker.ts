/**
 * The hub's crypto worker (hub/crypto_pool.ts): Ed25519 verification of MSG signatures and signing of RECEIPT
 * digests off the main thread, so HTTP, sequencing and storage keep one core and signatures use the other.
 * Messages: `{id, op: "init", secret}`; `{id, op: "verify", items}` where items is N×128 bytes
 * `pk(32) || digest(32) || sig(64)`, answered with N bytes of 1/0; `{id, op: "sign", digests}` (N×32 bytes),
 * answered with N×64 bytes of signatures.
 */
/// <reference lib="deno.worker" />
import { ed25519Sign, ed25519Verify } from "../core/mod.ts";

let secret: Uint8Array | undefined;

self.onmessage = (e: MessageEvent) => {
  const { id, op } = e.data as { id: number; op: string };
  try {
    if (op === "init") {
      secret = new Uint8Array(e.data.secret as Uint8Array);
      self.postMessage({ id, ok: true });
    } else if (op === "verify") {
      const items = new Uint8Array(e.data.items as ArrayBuffer);
      const n = items.length / 128;
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const o = i * 128;
        out[i] = ed25519Verify(
            items.subarray(o, o + 32),
            items.subarray(o + 32, o + 64),
            items.subarray(o + 64, o + 128),
          )
          ? 1
          : 0;
      }
      self.postMessage({ id, ok: true, result: out.buffer }, [out.buffer]);
    } else if (op === "sign") {
      if (secret === undefined) throw new Error("crypto worker has no key");
      const digests = new Uint8Array(e.data.digests as ArrayBuffer);
      const n = digests.length / 32;
      const out = new Uint8Array(n * 64);
      for (let i = 0; i < n; i++) out.set(ed25519Sign(secret, digests.subarray(i * 32, i * 32 + 32)), i * 64);
      self.postMessage({ id, ok: true, result: out.buffer }, [out.buffer]);
    } else {
      throw new Error(`unknown op ${op}`);
    }
  } catch (err) {
    self.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
