import assert from "node:assert/strict";
import { captureIo, Output } from "./io.ts";

Deno.test("Output.result() prints text lines, or one JSON document with ok:true under --json", () => {
  const io = captureIo();
  new Output(io, { json: false, quiet: false, verbose: false }).result({ a: 1 }, ["a: 1", "b: 2"]);
  assert.equal(io.stdout(), "a: 1\nb: 2\n");
  const j = captureIo();
  new Output(j, { json: true, quiet: true, verbose: false }).result({ a: 1 }, ["a: 1"]);
  assert.deepEqual(JSON.parse(j.stdout()), { ok: true, a: 1 });
});

Deno.test("Output.fields() prints one key: value line per field, or the object under --json", () => {
  const io = captureIo();
  new Output(io, { json: false, quiet: false, verbose: false }).fields({ a: 1, b: "x", c: true });
  assert.equal(io.stdout(), "a: 1\nb: x\nc: true\n");
  const j = captureIo();
  new Output(j, { json: true, quiet: false, verbose: false }).fields({ a: 1, b: "x" });
  assert.deepEqual(JSON.parse(j.stdout()), { ok: true, a: 1, b: "x" });
});

Deno.test("Output --quiet suppresses results and warnings but not failures", () => {
  const io = captureIo();
  const out = new Output(io, { json: false, quiet: true, verbose: false });
  out.result({}, ["x"]);
  out.warn("w");
  out.failure("E.SIG", "bad");
  assert.equal(io.stdout(), "");
  assert.equal(io.stderr(), "E.SIG: bad\n");
});

Deno.test("Output.failure() prints report lines then CODE: detail, or JSON ok:false", () => {
  const io = captureIo();
  new Output(io, { json: false, quiet: false, verbose: false }).failure("E.SEQ", "diverged", {
    lines: ["consistent: no"],
  });
  assert.equal(io.stdout(), "consistent: no\n");
  assert.equal(io.stderr(), "E.SEQ: diverged\n");
  const j = captureIo();
  new Output(j, { json: true, quiet: false, verbose: false }).failure("E.SEQ", "diverged", {
    json: { consistent: false },
  });
  assert.deepEqual(JSON.parse(j.stdout()), {
    ok: false,
    code: "E.SEQ",
    detail: "diverged",
    consistent: false,
  });
  assert.equal(j.stderr(), "");
});

Deno.test("Output.progress() draws only on a terminal and debug() only with --verbose", () => {
  const tty = captureIo({}, { isTty: true });
  const out = new Output(tty, { json: false, quiet: false, verbose: false });
  out.progress(1, 2);
  out.debug("hidden");
  out.progress(2, 2);
  assert.match(tty.stderr(), /\[#+-*\] 1\/2/);
  assert.match(tty.stderr(), /2\/2\n$/);
  assert.doesNotMatch(tty.stderr(), /hidden/);
  const pipe = captureIo();
  const o2 = new Output(pipe, { json: false, quiet: false, verbose: true });
  o2.progress(1, 2);
  o2.debug("shown");
  assert.equal(pipe.stderr(), "shown\n");
});
