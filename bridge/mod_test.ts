import assert from "node:assert/strict";
import { bridgeMain } from "./mod.ts";

Deno.test("veen bridge refuses numeric flags that are not integers in range, naming the flag", async () => {
  const err = console.error;
  let printed = "";
  console.error = (s: string) => (printed += s);
  try {
    const bad = [
      "--poll-ms=x",
      "--poll-ms=-5",
      "--poll-ms=1.5",
      "--poll-ms=0",
      "--poll-ms=3000000000",
      "--max-items=0",
      "--max-items=1e3",
      "--timeout-ms=",
      "--timeout-ms=NaN",
    ];
    for (const flag of bad) {
      printed = "";
      // Port 9 on loopback: nothing is contacted when the flags are refused first.
      const args = ["--from", "http://127.0.0.1:9", "--to", "http://127.0.0.1:9", "--stream", "s", flag];
      assert.equal(await bridgeMain(args), 1, flag);
      assert.match(printed, new RegExp(`^E\\.USAGE: ${flag.split("=")[0]} must be`), flag);
    }
  } finally {
    console.error = err;
  }
});
