import assert from "node:assert/strict";
import { type FlagSpec, GLOBAL_FLAGS, parseFlags, parseUint } from "./flags.ts";
import { CommandError } from "./errors.ts";

const SPECS: FlagSpec[] = [
  { name: "hub", help: "" },
  { name: "attach", multiple: true, aliases: ["file"], help: "" },
  { name: "dump-raw", arity: 2, help: "" },
  { name: "follow", arity: 0, help: "" },
  { name: "stream", required: true, help: "" },
  ...GLOBAL_FLAGS,
];

function usage(f: () => unknown, re: RegExp) {
  assert.throws(f, (e: unknown) => e instanceof CommandError && e.kind === "usage" && re.test(e.detail));
}

Deno.test("parseFlags() reads values, =values, booleans, repeats and two-value flags", () => {
  const f = parseFlags(
    [
      "--hub=http://h",
      "--attach",
      "a",
      "--file",
      "b",
      "--dump-raw",
      "m.cbor",
      "r.cbor",
      "--follow",
      "--stream",
      "s",
      "--json",
    ],
    SPECS,
  );
  assert.equal(f.str("hub"), "http://h");
  assert.deepEqual(f.list("attach"), ["a", "b"]);
  assert.deepEqual(f.pair("dump-raw"), ["m.cbor", "r.cbor"]);
  assert.equal(f.bool("follow"), true);
  assert.equal(f.bool("json"), true);
  assert.equal(f.bool("quiet"), false);
});

Deno.test("parseFlags() rejects unknown flags, missing values, repeats and missing required flags", () => {
  usage(() => parseFlags(["--stream", "s", "--nope"], SPECS), /Unknown flag --nope/);
  usage(() => parseFlags(["--stream"], SPECS), /needs a value/);
  usage(() => parseFlags(["--stream", "s", "--dump-raw", "only-one"], SPECS), /needs 2 values/);
  usage(() => parseFlags(["--stream", "s", "--hub", "--follow"], SPECS), /needs a value/);
  usage(() => parseFlags(["--stream", "a", "--stream", "b"], SPECS), /more than once/);
  usage(() => parseFlags(["--hub", "h"], SPECS), /Missing required flag --stream/);
  usage(() => parseFlags(["--stream", "s", "extra"], SPECS), /Unexpected argument "extra"/);
  usage(() => parseFlags(["--stream", "s", "--follow=1"], SPECS), /does not take/);
});

Deno.test("parseFlags() keeps positionals up to the limit and after --", () => {
  const f = parseFlags(["E.SIG", "--", "--stream"], [{ name: "stream", help: "" }], 2);
  assert.deepEqual(f.positionals, ["E.SIG", "--stream"]);
});

Deno.test("parseUint() accepts decimal safe integers within bounds only", () => {
  assert.equal(parseUint("42", "--n"), 42);
  for (const bad of ["", "x", "-1", "+5", "1.5", "1e2", "0x10", " 5"]) {
    usage(
      () => parseUint(bad, "--n"),
      new RegExp(`^--n must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, not "`),
    );
  }
  usage(() => parseUint("0", "--n", { min: 1 }), /^--n must be an integer from 1 to /);
  usage(
    () => parseUint("101", "--n", { min: 1, max: 100 }),
    /^--n must be an integer from 1 to 100, not "101"$/,
  );
  usage(() => parseUint("99999999999999999999", "--n"), /from 0 to/);
});

Deno.test("Flags.int() validates and Flags.req() reports the missing flag", () => {
  const f = parseFlags(["--timeout-ms", "x"], GLOBAL_FLAGS);
  usage(() => f.int("timeout-ms"), /--timeout-ms must be an integer from 0 to/);
  usage(() => f.req("hub"), /Missing required flag --hub/);
});

Deno.test("an empty value is given but Flags.req() treats it as missing unless allowEmpty", () => {
  for (const argv of [["--hub", "", "--stream="], ["--hub=", "--stream", ""]]) {
    const f = parseFlags(argv, SPECS);
    assert.equal(f.str("hub"), "");
    assert.equal(f.bool("hub"), true);
    usage(() => f.req("hub"), /^Missing required flag --hub$/);
    usage(() => f.req("stream"), /^Missing required flag --stream$/);
    assert.equal(f.req("stream", { allowEmpty: true }), "");
  }
  const f = parseFlags(["--attach", "", "--attach=x", "--stream", "s"], SPECS);
  assert.deepEqual(f.list("attach"), ["", "x"]);
  assert.equal(f.req("stream"), "s");
  usage(() => f.req("hub", { allowEmpty: true }), /^Missing required flag --hub$/);
});
