import assert from "node:assert/strict";
import { hubIdFor, toHex } from "../../core/mod.ts";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("hub-id from a running hub or from a hub key", async () => {
  await withScenario({}, async (s) => {
    const want = toHex(hubIdFor(s.hub.hubPk));
    assert.equal((await runCli(["hub-id", "--hub", s.hub.url])).stdout, want + "\n");
    assert.equal((await runCli(["hub-id", "--hub", s.hubDir])).stdout, want + "\n");
    assert.equal((await runCli(["hub-id", "--hub-key", toHex(s.hub.hubPk)])).stdout, want + "\n");
    assert.equal((await runCli(["hub-id", toHex(s.hub.hubPk), "--json"])).json().hub_id, want);
    assert.equal((await runCli(["hub-id"])).code, 1);
    assert.equal((await runCli(["hub-id", "--hub-key", "zz"])).code, 1);
  });
});
