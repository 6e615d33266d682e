/**
 * The hub's crypto worker (hub/crypto_pool.ts): Ed25519 verification of MSG signatures and signing of RECEIPT
 * digests off the main thread, so HTTP, sequencing and storage keep one core and signatures use the other. One
 * message starts it, `{secret, ring}`, answered with `{ok: true}`; after that all work goes through the shared ring
 * (hub/crypto_ring.ts): signatures first, one verification at a time between them; the worker sleeps in
 * Atomics.wait whenever both channels are empty, and posts an empty message if the main thread asked to be woken.
 */
/// <reference lib="deno.worker" />
import { ed25519Sign, ed25519Verify } from "../core/mod.ts";
import {
  BELL,
  doneOf,
  headOf,
  OFF_DIGEST,
  OFF_PK,
  OFF_RESULT,
  OFF_SIG,
  SIGN,
  SLEEPING,
  slotOffset,
  STOP,
  VERIFY,
  viewRing,
  WANT_WAKE,
} from "./crypto_ring.ts";

/**
 * While more jobs are queued, a wake-up message goes out after this many jobs at most, not after each: a message
 * costs the main thread an event dispatch, and a batch queues hundreds of jobs at once. The last job of a run
 * always wakes it.
 */
const WAKE_EVERY = 8;

self.onmessage = (e: MessageEvent) => {
  const secret = new Uint8Array(e.data.secret as Uint8Array);
  const { control, slots } = viewRing(e.data.ring as SharedArrayBuffer);
  self.postMessage({ ok: true });
  const done = [Atomics.load(control, doneOf(SIGN)), Atomics.load(control, doneOf(VERIFY))];
  let sincePost = 0;
  /** Runs job `done[c]` of channel `c` and publishes it; wakes the main thread when due. */
  const run = (c: number): void => {
    const o = slotOffset(c, done[c]!);
    const digest = slots.subarray(o + OFF_DIGEST, o + OFF_DIGEST + 32);
    if (c === SIGN) slots.set(ed25519Sign(secret, digest), o + OFF_SIG);
    else {
      const pk = slots.subarray(o + OFF_PK, o + OFF_PK + 32);
      slots[o + OFF_RESULT] = ed25519Verify(pk, digest, slots.subarray(o + OFF_SIG, o + OFF_SIG + 64))
        ? 1
        : 0;
    }
    done[c] = (done[c]! + 1) | 0;
    Atomics.store(control, doneOf(c), done[c]!);
    sincePost++;
    const idle = done[SIGN] === Atomics.load(control, headOf(SIGN)) &&
      done[VERIFY] === Atomics.load(control, headOf(VERIFY));
    if (
      (sincePost >= WAKE_EVERY || idle) && Atomics.load(control, WANT_WAKE) === 1 &&
      Atomics.compareExchange(control, WANT_WAKE, 1, 0) === 1
    ) {
      self.postMessage(0);
      sincePost = 0;
    }
  };
  for (;;) {
    if (Atomics.load(control, STOP) === 1) return self.close();
    const bell = Atomics.load(control, BELL);
    if (done[SIGN] !== Atomics.load(control, headOf(SIGN))) run(SIGN);
    else if (done[VERIFY] !== Atomics.load(control, headOf(VERIFY))) run(VERIFY);
    else {
      Atomics.store(control, SLEEPING, 1);
      // The timeout bounds how long a STOP set just before the wait goes unseen (close() also notifies).
      if (Atomics.load(control, BELL) === bell) Atomics.wait(control, BELL, bell, 250);
      Atomics.store(control, SLEEPING, 0);
    }
  }
};
