import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { runCli } from "../testing/run.ts";
import { withWalletHub } from "../testing/wallet.ts";
import { ok } from "../testing/with_real_hub.ts";

function ht(tag: string, ...parts: Buffer[]): string {
  const h = createHash("sha256").update(tag, "utf8").update(new Uint8Array([0]));
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

Deno.test("id authenticate: a MSG under a principal's cap binds to ctx_id while its device is ACTIVE; E.AUTH once disabled, E.CAP for another stream", async () => {
  // The principal (the client's id_sign key) is a trusted issuer, so the hub installs its cap.
  await withWalletHub(async (hub, root, { dir: c }) => {
    const base = ["--hub", hub.url, "--client", c];
    const me = ok(await runCli(["id", "show", "--client", c, "--json"])).json();
    const cap = `${root}/cap.cbor`;
    ok(
      await runCli([
        "cap",
        "issue",
        "--issuer",
        c,
        "--subject",
        c,
        "--stream",
        "app",
        "--ttl",
        "600",
        "--out",
        cap,
      ]),
    );
    ok(await runCli(["cap", "authorize", "--hub", hub.url, "--cap", cap]));
    ok(await runCli(["send", ...base, "--stream", "app", "--cap", cap, "--body", "{}"]));
    ok(await runCli(["send", ...base, "--stream", "app", "--body", "{}"]));
    const authAt = (seq: number, ...more: string[]) =>
      runCli([
        "id",
        "authenticate",
        ...base,
        "--stream",
        "app",
        "--seq",
        `${seq}`,
        "--realm",
        "shop",
        ...more,
        "--json",
      ]);
    const auth = (...more: string[]) => authAt(1, ...more);

    const before = await auth();
    assert.equal(before.code, 4, "no device record yet: not ACTIVE");
    assert.equal(before.json().code, "E.AUTH");

    ok(await runCli(["id", "device", "add", ...base, "--label", "laptop"]));
    const s = ok(await auth()).json();
    const principal = Buffer.from(me.id_sign_public as string, "hex");
    assert.equal(s.kind, "principal");
    assert.equal(s.principal_pk, me.id_sign_public);
    assert.equal(s.ctx_id, ht("id/ctx", principal, Buffer.from(ht("id/realm", Buffer.from("shop")), "hex")));
    assert.equal(s.device_id, ht("id/device", Buffer.from(me.client_id as string, "hex")));
    assert.equal(s.stream_seq, 1);

    const narrow = await auth("--app-stream", "other");
    assert.equal(narrow.code, 4);
    assert.equal(narrow.json().code, "E.CAP", "the cap does not allow stream other");

    const noCap = await authAt(2);
    assert.equal(noCap.code, 4);
    assert.equal(noCap.json().code, "E.CAP", "a MSG without auth_ref cannot be authenticated");

    ok(await runCli(["id", "device", "disable", ...base]));
    const after = await auth();
    assert.equal(after.code, 4);
    assert.equal(after.json().code, "E.AUTH");
  });
});
