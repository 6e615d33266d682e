/**
 * The hub's crypto worker (hub/crypto_pool.ts): Ed25519 verification of MSG signatures and signing of RECEIPT
 * digests off the main thread, so HTTP, sequencing and storage keep one core and signatures use the other. One
 * message starts it, `{secret, ring}`, answered with `{ok: true}`; after that all work goes through the shared ring
 * (hub/crypto_ring.ts): the worker sleeps in Atomics.wait whenever the ring is empty, and after a job it posts an
 * empty message if the main thread asked to be woken.
 */
/// <reference lib="deno.worker" />
import { ed25519Sign, ed25519Verify } from "../core/mod.ts";
import {
  DONE,
  HEAD,
  OFF_DIGEST,
  OFF_PK,
  OFF_RESULT,
  OFF_SIG,
  OP_SIGN,
  OP_VERIFY,
  SLEEPING,
  slotOffset,
  STOP,
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
  let done = Atomics.load(control, DONE);
  let sincePost = 0;
  for (;;) {
    if (Atomics.load(control, STOP) === 1) return self.close();
    const head = Atomics.load(control, HEAD);
    if (head === done) {
      Atomics.store(control, SLEEPING, 1);
      // The timeout bounds how long a STOP set just before the wait goes unseen (close() also notifies).
      if (Atomics.load(control, HEAD) === head) Atomics.wait(control, HEAD, head, 250);
      Atomics.store(control, SLEEPING, 0);
      continue;
    }
    while (done !== head) {
      const o = slotOffset(done);
      const op = slots[o];
      if (op === OP_VERIFY) {
        slots[o + OFF_RESULT] = ed25519Verify(
            slots.subarray(o + OFF_PK, o + OFF_PK + 32),
            slots.subarray(o + OFF_DIGEST, o + OFF_DIGEST + 32),
            slots.subarray(o + OFF_SIG, o + OFF_SIG + 64),
          )
          ? 1
          : 0;
      } else if (op === OP_SIGN) {
        slots.set(ed25519Sign(secret, slots.subarray(o + OFF_DIGEST, o + OFF_DIGEST + 32)), o + OFF_SIG);
      }
      done = (done + 1) | 0;
      Atomics.store(control, DONE, done);
      sincePost++;
      if (
        (sincePost >= WAKE_EVERY || done === head) && Atomics.load(control, WANT_WAKE) === 1 &&
        Atomics.compareExchange(control, WANT_WAKE, 1, 0) === 1
      ) {
        self.postMessage(0);
        sincePost = 0;
      }
    }
  }
};
