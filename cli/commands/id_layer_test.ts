import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { runCli } from "../testing/run.ts";

function ht(tag: string, ...parts: (string | Buffer)[]): string {
  const h = createHash("sha256").update(tag, "utf8").update(new Uint8Array([0]));
  for (const p of parts) h.update(typeof p === "string" ? Buffer.from(p, "utf8") : p);
  return h.digest("hex");
}

const P = "01".repeat(32), DEV = "02".repeat(32), ORG = "03".repeat(32);

Deno.test("id derive --json prints realm_id, ctx_id, principal_id and, when given, device_id and org_id", async () => {
  const r = await runCli(["id", "derive", "--realm", "example-app", "--principal-pk", P, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const realm = ht("id/realm", "example-app");
  assert.deepEqual(r.json(), {
    ok: true,
    realm_id: realm,
    ctx_id: ht("id/ctx", Buffer.from(P, "hex"), Buffer.from(realm, "hex")),
    principal_id: ht("id/principal", Buffer.from(P, "hex")),
  });
  const all = await runCli([
    "id",
    "derive",
    "--realm",
    realm,
    "--principal-pk",
    P,
    "--device-pk",
    DEV,
    "--org-pk",
    ORG,
    "--json",
  ]);
  assert.equal(all.code, 0, all.stderr);
  const j = all.json();
  assert.equal(j.realm_id, realm, "64 hex characters are taken as the realm_id itself");
  assert.equal(j.ctx_id, r.json().ctx_id);
  assert.equal(j.device_id, ht("id/device", Buffer.from(DEV, "hex")));
  assert.equal(j.org_id, ht("id/org", Buffer.from(ORG, "hex")));
  const text = await runCli(["id", "derive", "--realm", "example-app", "--principal-pk", P]);
  assert.match(
    text.stdout,
    new RegExp(`^realm_id: ${realm}\nctx_id: [0-9a-f]{64}\nprincipal_id: [0-9a-f]{64}\n$`),
  );
});

Deno.test("id derive refuses a missing or malformed key with a usage or size error", async () => {
  assert.equal((await runCli(["id", "derive", "--realm", "x"])).code, 1);
  const short = await runCli(["id", "derive", "--realm", "x", "--principal-pk", "01".repeat(31)]);
  assert.notEqual(short.code, 0);
  assert.match(short.stderr, /--principal-pk/);
});
