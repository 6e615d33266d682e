import assert from "node:assert/strict";
import { EXIT, VeenError } from "../core/mod.ts";
import {
  checkFailure,
  CommandError,
  describeFailure,
  exitCodeOf,
  malformedError,
  transportError,
  usageError,
} from "./errors.ts";

Deno.test("exitCodeOf() maps every failure kind to the CLI-GOALS exit code", () => {
  assert.equal(exitCodeOf(usageError("x")), EXIT.USAGE);
  assert.equal(exitCodeOf(transportError("x")), EXIT.TRANSPORT);
  assert.equal(exitCodeOf(malformedError("x")), EXIT.MALFORMED);
  assert.equal(exitCodeOf(new VeenError("E.RATE", "x")), EXIT.CHECK);
  assert.equal(exitCodeOf(checkFailure(new VeenError("E.SEQ", "x"), {})), EXIT.CHECK);
  assert.equal(exitCodeOf(new CommandError("selftest", "x")), EXIT.SELFTEST);
  assert.equal(exitCodeOf(new TypeError("bug")), EXIT.USAGE);
});

Deno.test("describeFailure() gives the spec code where there is one", () => {
  assert.deepEqual(describeFailure(new VeenError("E.AUTH", "no")).code, "E.AUTH");
  assert.equal(describeFailure(usageError("x")).code, "E.USAGE");
  assert.equal(describeFailure(transportError("x")).code, "E.UNAVAILABLE");
  assert.equal(describeFailure(malformedError("x", new VeenError("E.SIZE", "cbor"))).code, "E.SIZE");
  assert.equal(describeFailure(new Error("boom")).code, "E.INTERNAL");
  const f = describeFailure(checkFailure(new VeenError("E.SEQ", "diverged"), { lines: ["consistent: no"] }));
  assert.equal(f.code, "E.SEQ");
  assert.deepEqual(f.report?.lines, ["consistent: no"]);
});

Deno.test("describeFailure() carries retry_after (seconds) of a hub error into the JSON answer", () => {
  assert.equal(describeFailure(new VeenError("E.RATE", "slow down", { retryAfter: 2.5 })).retryAfter, 2.5);
  assert.equal(describeFailure(new VeenError("E.RATE", "slow down")).retryAfter, undefined);
});
