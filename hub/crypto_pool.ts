/**
 * Signature work off the main thread (OP0.4's separate verification pool). One worker thread by default on a
 * machine with two or more cores (`crypto_workers`; 0 does everything inline). Verifications queued in one turn of the event
 * loop travel in one message, without waiting for earlier ones, so the worker never idles while work is queued. If a worker
 * fails, pending work is refused with E.UNAVAILABLE and the pool falls back to inline crypto.
 */
import { ed25519Sign, ed25519Verify, VeenError } from "../core/mod.ts";

interface Waiter {
  resolve: (r: ArrayBuffer) => void;
  reject: (e: unknown) => void;
}

interface VerifyJob {
  pk: Uint8Array;
  digest: Uint8Array;
  sig: Uint8Array;
  resolve: (ok: boolean) => void;
  reject: (e: unknown) => void;
}

export class CryptoPool {
  private readonly worker: Worker | undefined;
  private broken = false;
  private nextId = 1;
  private readonly waiters = new Map<number, Waiter>();
  private queue: VerifyJob[] = [];
  private flushScheduled = false;

  private constructor(private readonly secret: Uint8Array, worker: Worker | undefined) {
    this.worker = worker;
    if (worker !== undefined) {
      worker.onmessage = (e: MessageEvent) => {
        const { id, ok, result, error } = e.data as {
          id: number;
          ok: boolean;
          result?: ArrayBuffer;
          error?: string;
        };
        const w = this.waiters.get(id);
        this.waiters.delete(id);
        if (w === undefined) return;
        if (ok) w.resolve(result ?? new ArrayBuffer(0));
        else w.reject(new VeenError("E.UNAVAILABLE", `Crypto worker failed: ${error}`));
      };
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        this.fail(new VeenError("E.UNAVAILABLE", `Crypto worker crashed: ${e.message}`));
      };
    }
  }

  /** Starts the worker (`workers` > 0; measured: a second one does not help on two cores) or runs inline (0). */
  static async start(secret: Uint8Array, workers: number): Promise<CryptoPool> {
    if (workers <= 0) return new CryptoPool(secret, undefined);
    let w: Worker | undefined;
    try {
      w = new Worker(new URL("./crypto_worker.ts", import.meta.url), { type: "module" });
      const pool = new CryptoPool(secret, w);
      await pool.call({ op: "init", secret }, []);
      return pool;
    } catch {
      // A build without the worker module (or a sandbox without threads) still works, on one thread.
      w?.terminate();
      return new CryptoPool(secret, undefined);
    }
  }

  get inline(): boolean {
    return this.worker === undefined || this.broken;
  }

  private call(msg: Record<string, unknown>, transfer: Transferable[]): Promise<ArrayBuffer> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiters.set(id, { resolve, reject });
      this.worker!.postMessage({ id, ...msg }, transfer);
    });
  }

  private fail(e: unknown): void {
    this.broken = true;
    for (const w of this.waiters.values()) w.reject(e);
    this.waiters.clear();
    for (const j of this.queue.splice(0)) j.reject(e);
    this.worker?.terminate();
  }

  /** Ed25519 verification of `sig` over `digest` under `pk`. */
  verify(pk: Uint8Array, digest: Uint8Array, sig: Uint8Array): Promise<boolean> {
    if (this.inline) return Promise.resolve(ed25519Verify(pk, digest, sig));
    return new Promise((resolve, reject) => {
      this.queue.push({ pk, digest, sig, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flushVerify());
      }
    });
  }

  /** Sends every verification queued in this turn of the event loop as one message (no waiting for earlier ones). */
  private flushVerify(): void {
    this.flushScheduled = false;
    const jobs = this.queue.splice(0);
    if (jobs.length === 0) return;
    if (this.inline) {
      for (const j of jobs) j.resolve(ed25519Verify(j.pk, j.digest, j.sig));
      return;
    }
    const items = new Uint8Array(jobs.length * 128);
    jobs.forEach((j, i) => {
      items.set(j.pk, i * 128);
      items.set(j.digest, i * 128 + 32);
      items.set(j.sig, i * 128 + 64);
    });
    this.call({ op: "verify", items: items.buffer }, [items.buffer]).then(
      (r) => {
        const res = new Uint8Array(r);
        jobs.forEach((j, i) => j.resolve(res[i] === 1));
      },
      (e) => {
        for (const j of jobs) j.reject(e);
      },
    );
  }

  /** Signs each 32-byte digest with the hub key, in order. */
  async sign(digests: readonly Uint8Array[]): Promise<Uint8Array[]> {
    if (this.inline) return digests.map((d) => ed25519Sign(this.secret, d));
    const buf = new Uint8Array(digests.length * 32);
    digests.forEach((d, i) => buf.set(d, i * 32));
    const sigs = new Uint8Array(await this.call({ op: "sign", digests: buf.buffer }, [buf.buffer]));
    return digests.map((_, i) => sigs.slice(i * 64, i * 64 + 64));
  }

  close(): void {
    this.worker?.terminate();
    this.broken = true;
  }
}
