import assert from "node:assert/strict";
import { intFlagProblem, parseFlags } from "./command_args.ts";
import { hubMain } from "./main.ts";

async function quietly<T>(fn: () => Promise<T> | T): Promise<{ value: T; printed: string }> {
  const err = console.error;
  let printed = "";
  console.error = (s: string) => (printed += s + "\n");
  try {
    return { value: await fn(), printed };
  } finally {
    console.error = err;
  }
}

Deno.test("intFlagProblem refuses non-numeric, signed, fractional and out-of-range values, naming the flag", () => {
  const b = { min: 1, max: 100 };
  for (const ok of ["1", "100", "007"]) assert.equal(intFlagProblem(ok, "n", b), undefined, ok);
  for (const bad of ["", "x", "-1", "+5", "1.5", "1e2", "0x10", " 5", "0", "101", "99999999999999999999"]) {
    assert.equal(intFlagProblem(bad, "n", b), `--n must be an integer from 1 to 100, not "${bad}"`);
  }
});

Deno.test("parseFlags checks integer flags (every value of a repeated one) and returns usage", async () => {
  const opts = { n: { type: "string" }, m: { type: "string", multiple: true } } as const;
  const ints = { n: { min: 1, max: 9 }, m: { min: 0, max: 9 } };
  const ok = parseFlags(["--n", "3", "--m", "0", "--m", "9"], opts, "help", ints);
  assert.deepEqual({ ...(ok as object) }, { n: "3", m: ["0", "9"] });
  for (const args of [["--n", "x"], ["--n", "10"], ["--m", "1", "--m", "1.5"]]) {
    const { value, printed } = await quietly(() => parseFlags(args, opts, "help", ints));
    assert.equal(value, 1, args.join(" "));
    assert.match(printed, /^usage: --[nm] must be an integer from \d to 9, not "/);
  }
});

Deno.test("veen hub stop refuses a --timeout-ms that is not a positive integer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const v of ["x", "0", "-1", "2.5"]) {
      const { value, printed } = await quietly(() =>
        hubMain(["stop", "--data-dir", dir, `--timeout-ms=${v}`])
      );
      assert.equal(value, 1, v);
      assert.match(printed, /--timeout-ms must be an integer/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
