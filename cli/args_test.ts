import assert from "node:assert/strict";
import { type FlagSpec, GLOBAL_FLAGS, parseFlags, parseUint } from "./args.ts";
import { CliError } from "./exit_codes.ts";

const SPECS: FlagSpec[] = [
  { name: "hub", help: "" },
  { name: "attach", multiple: true, aliases: ["file"], help: "" },
  { name: "dump-raw", arity: 2, help: "" },
  { name: "follow", arity: 0, help: "" },
  { name: "stream", required: true, help: "" },
  ...GLOBAL_FLAGS,
];

function usage(f: () => unknown, re: RegExp) {
  assert.throws(f, (e: unknown) => e instanceof CliError && e.kind === "usage" && re.test(e.detail));
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
  usage(() => parseUint("-1", "--n"), /non-negative integer/);
  usage(() => parseUint("1.5", "--n"), /non-negative integer/);
  usage(() => parseUint("0", "--n", { min: 1 }), /1\.\./);
  usage(() => parseUint("99999999999999999999", "--n"), /in 0\.\./);
});

Deno.test("Flags.int() validates and Flags.req() reports the missing flag", () => {
  const f = parseFlags(["--timeout-ms", "x"], GLOBAL_FLAGS);
  usage(() => f.int("timeout-ms"), /--timeout-ms must be a non-negative integer/);
  usage(() => f.req("hub"), /Missing required flag --hub/);
});
