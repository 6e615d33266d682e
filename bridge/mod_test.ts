import assert from "node:assert/strict";
import { captureIo } from "../cmd/mod.ts";
import { bridgeMain } from "./mod.ts";

Deno.test("veen bridge refuses numeric flags that are not integers in range, naming the flag", async () => {
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
    const io = captureIo();
    // Port 9 on loopback: nothing is contacted when the flags are refused first.
    const args = ["--from", "http://127.0.0.1:9", "--to", "http://127.0.0.1:9", "--stream", "s", flag];
    assert.equal(await bridgeMain(args, io), 1, flag);
    assert.match(io.stderr(), new RegExp(`^E\\.USAGE: ${flag.split("=")[0]} must be`), flag);
  }
});

Deno.test("veen bridge failures are JSON under --json", async () => {
  const io = captureIo();
  assert.equal(await bridgeMain(["--from", "http://127.0.0.1:9", "--json"], io), 1);
  assert.deepEqual(JSON.parse(io.stdout()), {
    ok: false,
    code: "E.USAGE",
    detail: "Missing required flag --to",
  });
});
