import assert from "node:assert/strict";
import { schemaIdFor, toHex } from "../../core/mod.ts";
import { runCli } from "../testing/run.ts";

Deno.test('schema-id prints H("veen/schema:" + NAME)', async () => {
  const r = await runCli(["schema-id", "wallet.transfer.v1"]);
  assert.equal(r.stdout, toHex(schemaIdFor("wallet.transfer.v1")) + "\n");
  assert.equal((await runCli(["schema-id"])).code, 1);
});
