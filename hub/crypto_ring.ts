/**
 * The job rings shared by the crypto pool (hub/crypto_pool.ts) and its worker (hub/crypto_worker.ts): a
 * SharedArrayBuffer of fixed slots, so a verification or a signature crosses threads without a message. There are
 * two channels, each a ring of SLOTS slots: SIGN (RECEIPT signatures) and VERIFY (MSG signatures). The worker
 * always takes a waiting signature before the next verification: a signature releases RECEIPTs of entries already
 * sequenced (their group commit waits for the last one), while a verification starts new work, so behind one FIFO
 * the commits of a busy hub waited for the verifications of every request that arrived meanwhile
 * (docs/performance.md "Bulk submit").
 *
 * The main thread fills slot `i mod SLOTS` of a channel and publishes it by advancing the channel's HEAD, then
 * BELL; the worker processes each channel's slots in order, writes each result into its slot and advances the
 * channel's DONE. Counters are int32 and wrap; only their differences are compared. No wake-up is lost: each side
 * publishes its counter before it reads the other side's flag (all accesses are sequentially consistent Atomics).
 *
 * Slot layout (SLOT_BYTES): verify result (1 byte) at 1, public key at 8, digest at 40, signature at 72 (input of a
 * verify, output of a sign).
 */
export const SLOTS = 4096;
export const SLOT_BYTES = 136;

/** The channels, in the order the worker serves them. */
export const SIGN = 0;
export const VERIFY = 1;
export const CHANNELS = 2;

/** The control word of a channel's HEAD (jobs published) and DONE (jobs finished). */
export const headOf = (channel: number): number => 2 * channel;
export const doneOf = (channel: number): number => 2 * channel + 1;
/** 1 while the worker sleeps in Atomics.wait on BELL (the main thread then notifies). */
export const SLEEPING = 4;
/**
 * Set to 1 by the main thread when it waits for results; the worker clears it and posts an empty message after
 * finishing a job (after up to 8 while more are queued; hub/crypto_worker.ts). (Atomics.waitAsync cannot be used:
 * Deno does not wake its event loop for it.)
 */
export const WANT_WAKE = 5;
/**
 * Set to 1 by the main thread when the pool closes; the worker then leaves its loop. Worker.terminate() alone does
 * not end a thread blocked in Atomics.wait, and that thread would keep the process alive.
 */
export const STOP = 6;
/** Advanced by the main thread after every publication, on any channel: the word the idle worker waits on. */
export const BELL = 7;
const CONTROL_BYTES = 64;

export const OFF_RESULT = 1;
export const OFF_PK = 8;
export const OFF_DIGEST = 40;
export const OFF_SIG = 72;

export interface CryptoRing {
  control: Int32Array;
  slots: Uint8Array;
}

export function createRing(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + CHANNELS * SLOTS * SLOT_BYTES);
}

export function viewRing(sab: SharedArrayBuffer): CryptoRing {
  return {
    control: new Int32Array(sab, 0, CONTROL_BYTES / 4),
    slots: new Uint8Array(sab, CONTROL_BYTES, CHANNELS * SLOTS * SLOT_BYTES),
  };
}

/** Byte offset of the slot for job counter `i` of `channel`. */
export const slotOffset = (channel: number, i: number): number =>
  (channel * SLOTS + (i & (SLOTS - 1))) * SLOT_BYTES;
