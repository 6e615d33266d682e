/**
 * The job ring shared by the crypto pool (hub/crypto_pool.ts) and its worker (hub/crypto_worker.ts): a
 * SharedArrayBuffer of fixed slots, so a verification or a signature crosses threads without a message. The main
 * thread fills slot `i mod SLOTS` and publishes it by advancing HEAD; the worker processes slots in order, writes
 * each result into its slot and advances DONE. Counters are int32 and wrap; only their differences are compared.
 * No wake-up is lost: each side publishes its counter before it reads the other side's flag (all accesses are
 * sequentially consistent Atomics).
 *
 * Slot layout (SLOT_BYTES): op (1 byte) at 0, verify result (1 byte) at 1, public key at 8, digest at 40,
 * signature at 72 (input of a verify, output of a sign).
 */
export const SLOTS = 4096;
export const SLOT_BYTES = 136;

export const HEAD = 0;
export const DONE = 1;
/** 1 while the worker sleeps in Atomics.wait on HEAD (the main thread then notifies). */
export const SLEEPING = 2;
/**
 * Set to 1 by the main thread when it waits for results; the worker clears it and posts an empty message after
 * finishing a job. (Atomics.waitAsync cannot be used: Deno does not wake its event loop for it.)
 */
export const WANT_WAKE = 3;
/**
 * Set to 1 by the main thread when the pool closes; the worker then leaves its loop. Worker.terminate() alone does
 * not end a thread blocked in Atomics.wait, and that thread would keep the process alive.
 */
export const STOP = 4;
const CONTROL_BYTES = 64;

export const OP_VERIFY = 1;
export const OP_SIGN = 2;

export const OFF_RESULT = 1;
export const OFF_PK = 8;
export const OFF_DIGEST = 40;
export const OFF_SIG = 72;

export interface CryptoRing {
  control: Int32Array;
  slots: Uint8Array;
}

export function createRing(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + SLOTS * SLOT_BYTES);
}

export function viewRing(sab: SharedArrayBuffer): CryptoRing {
  return {
    control: new Int32Array(sab, 0, CONTROL_BYTES / 4),
    slots: new Uint8Array(sab, CONTROL_BYTES, SLOTS * SLOT_BYTES),
  };
}

/** Byte offset of the slot for job counter `i`. */
export const slotOffset = (i: number): number => (i & (SLOTS - 1)) * SLOT_BYTES;
