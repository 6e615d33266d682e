import assert from "node:assert/strict";
import { formatPowCookie, leadingZeroBits, powHash, solvePow, toHex, VeenError } from "../core/mod.ts";
import { POW_CHALLENGE_TTL_SEC, PowGate } from "./pow_gate.ts";

const T0 = 1_700_000_000_000;

/** A gate at difficulty `d` on a clock the test moves. */
function gate(d: number, secret = new Uint8Array(32).fill(1)) {
  const clock = { ms: T0 };
  return { g: new PowGate(d, () => clock.ms, secret), clock };
}

function refusal(f: () => void): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof VeenError, String(e));
    assert.equal(e.code, "E.AUTH");
    return e.detail;
  }
  assert.fail("accepted");
}

const header = (challenge: Uint8Array, nonce: number) => formatPowCookie({ challenge, nonce: BigInt(nonce) });

Deno.test("PowGate: a solved cookie of this hub passes once; its replay is E.AUTH", () => {
  const { g } = gate(6);
  const c = g.issue();
  assert.equal(c.difficulty, 6);
  assert.equal(c.expiresAt, T0 / 1000 + POW_CHALLENGE_TTL_SEC);
  const nonce = solvePow(c.challenge, 6)!;
  g.check(header(c.challenge, nonce));
  assert.match(refusal(() => g.check(header(c.challenge, nonce))), /already used/);
  // Another solution of the same challenge is a new pair.
  let next = nonce + 1;
  while (leadingZeroBits(powHash(c.challenge, next)) < 6) next++;
  g.check(header(c.challenge, next));
});

Deno.test("PowGate: exactly the challenge's difficulty passes, one bit less fails", () => {
  const { g } = gate(8);
  const c = g.issue();
  let exact = 0;
  while (leadingZeroBits(powHash(c.challenge, exact)) !== 8) exact++;
  let short = 0;
  while (leadingZeroBits(powHash(c.challenge, short)) !== 7) short++;
  assert.match(refusal(() => g.check(header(c.challenge, short))), /does not solve difficulty 8/);
  g.check(header(c.challenge, exact));
});

Deno.test("PowGate: a challenge is valid until just before expires_at", () => {
  const { g, clock } = gate(2);
  const c = g.issue();
  let n1 = 0;
  while (leadingZeroBits(powHash(c.challenge, n1)) < 2) n1++;
  let n2 = n1 + 1;
  while (leadingZeroBits(powHash(c.challenge, n2)) < 2) n2++;
  clock.ms = c.expiresAt * 1000 - 1;
  g.check(header(c.challenge, n1));
  clock.ms = c.expiresAt * 1000;
  assert.match(refusal(() => g.check(header(c.challenge, n2))), /expired at/);
});

Deno.test("PowGate: another hub's (or an earlier run's) challenge, a forged difficulty, a missing header", () => {
  const { g } = gate(2);
  const other = gate(2, new Uint8Array(32).fill(2)).g.issue();
  const n = solvePow(other.challenge, 2)!;
  assert.match(refusal(() => g.check(header(other.challenge, n))), /not issued by this hub/);
  // Lowering the difficulty byte breaks the tag.
  const c = g.issue();
  const forged = c.challenge.slice();
  forged[8] = 0;
  assert.match(refusal(() => g.check(header(forged, 0))), /not issued by this hub/);
  assert.match(refusal(() => g.check(null)), /requires proof of work \(difficulty 2\)/);
  assert.match(refusal(() => g.check("nonsense")), /Malformed veen-pow header/);
});

Deno.test("PowGate: a challenge below the hub's difficulty is refused even when solved", () => {
  const secret = new Uint8Array(32).fill(3);
  const low = gate(1, secret).g.issue();
  const { g } = gate(4, secret);
  const n = solvePow(low.challenge, 1)!;
  assert.match(refusal(() => g.check(header(low.challenge, n))), /below the hub's difficulty 4/);
  assert.equal(g.issue(9).difficulty, 9);
  assert.equal(g.issue(1).difficulty, 4);
  assert.throws(() => g.issue(65), (e) => e instanceof VeenError && e.code === "E.SIZE");
});

Deno.test("PowGate: used pairs are forgotten once their challenge expired (bounded memory)", () => {
  const { g, clock } = gate(1);
  for (let i = 0; i < 50; i++) {
    const c = g.issue();
    g.check(header(c.challenge, solvePow(c.challenge, 1)!));
    clock.ms += 10_000;
  }
  // 50 challenges issued 10 s apart, each valid 300 s: only the last 30 seconds' worth are still remembered.
  assert.ok(g.usedCount <= 31, String(g.usedCount));
  clock.ms += 10 * POW_CHALLENGE_TTL_SEC * 1000;
  const c = g.issue();
  g.check(header(c.challenge, solvePow(c.challenge, 1)!));
  assert.equal(g.usedCount, 1);
  assert.equal(toHex(c.challenge).length, 64);
});
