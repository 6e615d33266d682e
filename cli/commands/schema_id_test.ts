import assert from "node:assert/strict";
import { H, schemaIdFor, toHex, utf8 } from "../../core/mod.ts";
import { GCNT_SCHEMA, LWW_SCHEMA, ORSET_SCHEMA, RPC_RES_SCHEMA, RPC_SCHEMA } from "../../overlays/mod.ts";
import { runCli } from "../testing/run.ts";

Deno.test("schema-id prints the id of the one schema-id table (overlay decisions)", async () => {
  const r = await runCli(["schema-id", "paid.operation.v1"]);
  assert.equal(r.stdout, toHex(H(utf8("veen/schema:paid.operation.v1"))) + "\n");
  assert.equal(
    (await runCli(["schema-id", "wallet.transfer.v1"])).stdout,
    toHex(schemaIdFor("wallet.transfer.v1")) + "\n",
  );
  assert.equal((await runCli(["schema-id"])).code, 1);
});

Deno.test("schema-id of an overlay schema is the id its messages carry", async () => {
  const carried: [string, Uint8Array][] = [
    ["rpc.v1", RPC_SCHEMA],
    ["rpc.res.v1", RPC_RES_SCHEMA],
    ["crdt.lww.v1", LWW_SCHEMA],
    ["crdt.orset.v1", ORSET_SCHEMA],
    ["crdt.gcnt.v1", GCNT_SCHEMA],
  ];
  for (const [name, schema] of carried) {
    const r = await runCli(["schema-id", name, "--json"]);
    assert.equal(r.json().schema_id, toHex(schema), name);
    assert.equal(toHex(schema), toHex(H(utf8(name))), name);
  }
});
