/**
 * Signature work off the main thread (OP0.4's separate verification pool): `crypto_workers` worker threads (one
 * by default on two or more cores; a second one did not help on two), inline crypto at 0. Each job goes to the
 * worker with the fewest jobs outstanding, so the verifications of a `/submit_batch` request spread over all of
 * them. Jobs
 * travel through a shared ring (hub/crypto_ring.ts) rather than messages: posting a job is a few stores and, only
 * when the worker sleeps, one Atomics.notify; results are collected in order when the worker's empty wake-up
 * message arrives (sent only while the main thread waits for results). RECEIPT signatures have a channel of their
 * own, which the worker serves first. With a structured-clone message per job
 * the worker spent ~25 µs more per submit (docs/performance.md). If the worker fails, pending work is refused
 * with E.UNAVAILABLE and the pool falls back to inline crypto.
 */
import { ed25519Sign, ed25519Verify, VeenError } from "../core/mod.ts";
import { One, type Slots } from "./slots.ts";
import {
  BELL,
  createRing,
  type CryptoRing,
  doneOf,
  headOf,
  OFF_DIGEST,
  OFF_PK,
  OFF_RESULT,
  OFF_SIG,
  SIGN,
  SLEEPING,
  slotOffset,
  SLOTS,
  STOP,
  VERIFY,
  viewRing,
  WANT_WAKE,
} from "./crypto_ring.ts";

interface Job {
  pk: Uint8Array | undefined;
  digest: Uint8Array;
  sig: Uint8Array | undefined;
  /** Where the result goes, in slot `k`: verify true/false, sign the signature. */
  slots: Slots<Uint8Array | boolean>;
  k: number;
}

/** One channel of a lane's ring (hub/crypto_ring.ts): its jobs in the ring, oldest first, and those waiting. */
class Channel {
  /** Jobs published to the ring and not yet collected (the worker finishes a channel's jobs in order). */
  readonly inRing: Job[] = [];
  inRingStart = 0;
  /** Jobs waiting for a free slot. */
  overflow: Job[] = [];
  head = 0;
  collected = 0;

  constructor(readonly c: number) {}

  get outstanding(): number {
    return ((this.head - this.collected) | 0) + this.overflow.length;
  }

  /** Writes a job into the next free slot and advances HEAD (the caller rings BELL). */
  publish(ring: CryptoRing, j: Job): void {
    const o = slotOffset(this.c, this.head);
    ring.slots.set(j.digest, o + OFF_DIGEST);
    if (this.c === VERIFY) {
      ring.slots.set(j.pk!, o + OFF_PK);
      ring.slots.set(j.sig!, o + OFF_SIG);
    }
    this.inRing.push(j);
    this.head = (this.head + 1) | 0;
    Atomics.store(ring.control, headOf(this.c), this.head);
  }

  /** Hands out the results up to the worker's DONE; publishes waiting jobs into the freed slots. */
  collect(ring: CryptoRing): void {
    const done = Atomics.load(ring.control, doneOf(this.c));
    if (done === this.collected) return;
    const { slots } = ring;
    while (this.collected !== done) {
      const o = slotOffset(this.c, this.collected);
      const j = this.inRing[this.inRingStart++]!;
      if (this.c === VERIFY) j.slots.put(j.k, slots[o + OFF_RESULT] === 1);
      else j.slots.put(j.k, slots.slice(o + OFF_SIG, o + OFF_SIG + 64));
      this.collected = (this.collected + 1) | 0;
    }
    if (this.inRingStart > 1024 && this.inRingStart * 2 > this.inRing.length) {
      this.inRing.splice(0, this.inRingStart);
      this.inRingStart = 0;
    }
    if (this.overflow.length > 0) {
      for (const j of this.overflow.splice(0, SLOTS - ((this.head - this.collected) | 0))) {
        this.publish(ring, j);
      }
    }
  }

  /** Every job not yet collected, now failed with `e`. */
  fail(e: unknown): void {
    const jobs = [...this.inRing.slice(this.inRingStart), ...this.overflow];
    this.inRing.length = 0;
    this.inRingStart = 0;
    this.overflow = [];
    for (const j of jobs) j.slots.fail(j.k, e);
  }
}

/** One worker thread and its ring (or inline crypto); the pool spreads jobs over several. */
class CryptoLane {
  private readonly worker: Worker | undefined;
  readonly ring: CryptoRing | undefined;
  private broken = false;
  /** By channel: SIGN, VERIFY. */
  private readonly channels = [new Channel(SIGN), new Channel(VERIFY)];

  private constructor(private readonly secret: Uint8Array, worker?: Worker, ring?: CryptoRing) {
    this.worker = worker;
    this.ring = ring;
    if (worker !== undefined) {
      worker.onmessage = () => this.awaitResults();
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        this.fail(new VeenError("E.UNAVAILABLE", `Crypto worker crashed: ${e.message}`));
      };
    }
  }

  /** Starts a worker (`worker` true) or runs inline. */
  static async start(secret: Uint8Array, worker: boolean): Promise<CryptoLane> {
    if (!worker) return new CryptoLane(secret);
    let w: Worker | undefined;
    try {
      w = new Worker(new URL("./crypto_worker.ts", import.meta.url), { type: "module" });
      const sab = createRing();
      const started = new Promise<void>((resolve, reject) => {
        w!.onmessage = () => resolve();
        w!.onerror = (e) => {
          e.preventDefault();
          reject(new Error(e.message));
        };
      });
      w.postMessage({ secret, ring: sab });
      await started;
      w.onmessage = null;
      return new CryptoLane(secret, w, viewRing(sab));
    } catch {
      // A build without the worker module (or a sandbox without threads) still works, on one thread.
      w?.terminate();
      return new CryptoLane(secret);
    }
  }

  /** Jobs handed to this lane and not yet collected. */
  get outstanding(): number {
    return this.inline ? 0 : this.channels[SIGN]!.outstanding + this.channels[VERIFY]!.outstanding;
  }

  get inline(): boolean {
    return this.worker === undefined || this.broken;
  }

  private fail(e: unknown): void {
    this.broken = true;
    for (const ch of this.channels) ch.fail(e);
    if (this.ring !== undefined) {
      Atomics.store(this.ring.control, STOP, 1);
      Atomics.add(this.ring.control, BELL, 1);
      Atomics.notify(this.ring.control, BELL);
    }
    this.worker?.terminate();
  }

  /** Ed25519 verification of `sig` over `digest` under `pk`, into slot `k` of `slots`. */
  verifyInto(pk: Uint8Array, digest: Uint8Array, sig: Uint8Array, slots: Slots<boolean>, k: number): void {
    if (this.inline) return slots.put(k, ed25519Verify(pk, digest, sig));
    if (pk.length !== 32 || digest.length !== 32 || sig.length !== 64) return slots.put(k, false);
    this.enqueue(this.channels[VERIFY]!, { pk, digest, sig, slots, k });
  }

  /** Signs a 32-byte digest with the hub key, into slot `k` of `slots`. */
  signInto(digest: Uint8Array, slots: Slots<Uint8Array>, k: number): void {
    if (digest.length !== 32) {
      return slots.fail(k, new VeenError("E.SIZE", "A signing digest must be 32 bytes"));
    }
    if (this.inline) return slots.put(k, ed25519Sign(this.secret, digest));
    this.enqueue(this.channels[SIGN]!, { pk: undefined, digest, sig: undefined, slots, k });
  }

  /** Publishes `job` when a slot of its channel is free and no job waits for one; else it waits there. */
  private enqueue(ch: Channel, job: Job): void {
    if (ch.overflow.length === 0 && ((ch.head - ch.collected) | 0) < SLOTS) {
      ch.publish(this.ring!, job);
      this.ringBell();
    } else ch.overflow.push(job);
    this.awaitResults();
  }

  /** Rings BELL after a publication and wakes the worker if it sleeps. */
  private ringBell(): void {
    const { control } = this.ring!;
    Atomics.add(control, BELL, 1);
    if (Atomics.load(control, SLEEPING) === 1) Atomics.notify(control, BELL);
  }

  /** Collects finished jobs; while any is outstanding, asks the worker for a wake-up message. */
  private awaitResults(): void {
    if (this.broken) return;
    const { control } = this.ring!;
    const sign = this.channels[SIGN]!;
    const verify = this.channels[VERIFY]!;
    for (;;) {
      // Collecting frees slots, and waiting jobs are published into them: ring BELL for those.
      const waiting = sign.overflow.length + verify.overflow.length;
      sign.collect(this.ring!);
      verify.collect(this.ring!);
      if (sign.overflow.length + verify.overflow.length !== waiting) this.ringBell();
      if (sign.head === sign.collected && verify.head === verify.collected) return;
      Atomics.store(control, WANT_WAKE, 1);
      // A job finished before the flag was set would send no message: look once more.
      if (
        Atomics.load(control, doneOf(SIGN)) === sign.collected &&
        Atomics.load(control, doneOf(VERIFY)) === verify.collected
      ) return;
    }
  }

  /** Stops the worker; work still pending is refused with E.UNAVAILABLE. */
  close(): void {
    if (this.worker !== undefined && !this.broken) {
      this.fail(new VeenError("E.UNAVAILABLE", "The crypto pool is closed"));
    }
    this.broken = true;
  }
}

/** The crypto workers: each job goes to the lane with the fewest jobs outstanding. */
export class CryptoPool {
  private constructor(private readonly lanes: CryptoLane[]) {}

  /** Starts `workers` worker threads (at least one lane: inline when `workers` is 0). */
  static async start(secret: Uint8Array, workers: number): Promise<CryptoPool> {
    const n = Math.max(1, workers);
    return new CryptoPool(
      await Promise.all(Array.from({ length: n }, () => CryptoLane.start(secret, workers > 0))),
    );
  }

  /** True when no worker runs (none configured, or all failed or closed). */
  get inline(): boolean {
    return this.lanes.every((l) => l.inline);
  }

  /** The first worker's ring (tests watch its state). */
  get ring(): CryptoRing | undefined {
    return this.lanes[0]!.ring;
  }

  private lane(): CryptoLane {
    let best = this.lanes[0]!;
    for (let i = 1; i < this.lanes.length && best.outstanding > 0; i++) {
      if (this.lanes[i]!.outstanding < best.outstanding) best = this.lanes[i]!;
    }
    return best;
  }

  /** Ed25519 verification of `sig` over `digest` under `pk`. */
  verify(pk: Uint8Array, digest: Uint8Array, sig: Uint8Array): Promise<boolean> {
    const one = new One<boolean>();
    this.verifyInto(pk, digest, sig, one, 0);
    return one.done;
  }

  /** Signs a 32-byte digest with the hub key. */
  signOne(digest: Uint8Array): Promise<Uint8Array> {
    const one = new One<Uint8Array>();
    this.signInto(digest, one, 0);
    return one.done;
  }

  /**
   * `verify` into slot `k` of `slots` (hub/slots.ts): a batch's verifications share one promise; each goes to the
   * lane with the fewest jobs outstanding.
   */
  verifyInto(pk: Uint8Array, digest: Uint8Array, sig: Uint8Array, slots: Slots<boolean>, k: number): void {
    this.lane().verifyInto(pk, digest, sig, slots, k);
  }

  /** `signOne` into slot `k` of `slots`. */
  signInto(digest: Uint8Array, slots: Slots<Uint8Array>, k: number): void {
    this.lane().signInto(digest, slots, k);
  }

  /** Stops the workers; work still pending is refused with E.UNAVAILABLE. */
  close(): void {
    for (const l of this.lanes) l.close();
  }
}
