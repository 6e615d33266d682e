/** `veen id principal|profile|external` end to end against a real hub on loopback, and --help of every new id command. */
import assert from "node:assert/strict";
import { runCli, tempDir } from "../testing/run.ts";
import { newClient } from "../testing/run.ts";
import { testIssuer } from "../../selftest/jwt_issuer.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";

const REALM = "example-app";
const ISS = "https://idp.example";
const AUD = "veen-app";

Deno.test("id principal prints the client's identifiers without a hub, and --publish starts the principal stream", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const show = ok(await runCli(["id", "show", "--client", c, "--json"])).json();
    const local = ok(await runCli(["id", "principal", "--client", c, "--realm", REALM, "--json"])).json();
    assert.equal(local.principal_pk, show.id_sign_public);
    const derived = ok(
      await runCli([
        "id",
        "derive",
        "--realm",
        REALM,
        "--principal-pk",
        String(show.id_sign_public),
        "--json",
      ]),
    ).json();
    assert.equal(local.principal_id, derived.principal_id);
    const realm = (local.realms as Record<string, string>[])[0]!;
    assert.equal(realm.ctx_id, derived.ctx_id);
    assert.match(String(local.stream_id_principal), /^[0-9a-f]{64}$/);
    assert.equal(
      (await runCli(["id", "principal", "--client", c, "--publish"])).code,
      1,
      "--publish needs --hub",
    );

    const before = ok(await runCli(["id", "principal", "--client", c, "--hub", hub.url, "--json"])).json();
    assert.equal(before.principal_record, null);
    const pub = ok(
      await runCli([
        "id",
        "principal",
        "--client",
        c,
        "--hub",
        hub.url,
        "--publish",
        "--info-json",
        '{"kind":"human"}',
        "--created-at",
        "1700000000",
        "--json",
      ]),
    ).json();
    assert.equal(typeof (pub.published as Record<string, unknown>).stream_seq, "number");
    assert.deepEqual(pub.principal_record, { created_at: 1700000000, info: { kind: "human" } });
    // The record landed on stream_id_principal, readable with `veen stream`.
    const items = ok(
      await runCli([
        "stream",
        "--hub",
        hub.url,
        "--client",
        c,
        "--stream",
        String(local.stream_id_principal),
        "--with-proof",
        "--json",
      ]),
    ).json().items as unknown[];
    assert.equal(items.length, 1);
  });
});

Deno.test("id profile set|show: LWW by updated_at, unset fields kept unless --replace; id status prints it", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const base = ["--hub", hub.url, "--client", c, "--realm", REALM];
    const show = async () => ok(await runCli(["id", "profile", "show", ...base, "--json"])).json();
    const set = async (...args: string[]) => ok(await runCli(["id", "profile", "set", ...base, ...args]));
    assert.equal((await show()).profile, null);
    await set("--display-name", "Alice", "--avatar-coid", "aa".repeat(32), "--updated-at", "200");
    await set("--display-name", "Stale", "--updated-at", "100");
    let p = (await show()).profile as Record<string, unknown>;
    assert.equal(p.display_name, "Alice", "an older updated_at loses although it came later");
    await set("--prefs-json", '{"theme":"dark"}', "--updated-at", "300");
    p = (await show()).profile as Record<string, unknown>;
    assert.equal(p.display_name, "Alice", "set keeps the fields it is not given");
    assert.equal(p.avatar_coid, "aa".repeat(32));
    assert.deepEqual(p.prefs, { theme: "dark" });
    await set("--replace", "--display-name", "A.", "--updated-at", "400");
    p = (await show()).profile as Record<string, unknown>;
    assert.equal(p.avatar_coid, null, "--replace unsets what it is not given");
    assert.equal(p.prefs, null);
    const st = ok(await runCli(["id", "status", "--hub", hub.url, "--client", c, "--realm", REALM, "--json"]))
      .json();
    const ctx = (st.ctxs as Record<string, unknown>[])[0]!;
    assert.equal((ctx.profile as Record<string, unknown>).display_name, "A.");
    assert.equal(ctx.revoked, false);
  });
});

Deno.test("id external link is a JWT gateway: a valid token links its sub, bad ones are refused with nothing sent", async () => {
  await withRealHub({}, async (hub, root) => {
    const c = await newClient(root, "c");
    const t = await tempDir();
    try {
      const issuer = testIssuer();
      const jwks = `${t.path}/jwks.json`;
      await Deno.writeTextFile(jwks, JSON.stringify(issuer.jwks));
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: ISS, aud: AUD, sub: "google-123", exp: now + 600 };
      const base = ["--hub", hub.url, "--client", c, "--realm", REALM];
      const link = (token: string, ...more: string[]) =>
        runCli([
          "id",
          "external",
          "link",
          ...base,
          "--provider",
          "google",
          "--token",
          token,
          "--jwks",
          jwks,
          "--issuer",
          ISS,
          "--audience",
          AUD,
          "--json",
          ...more,
        ]);
      const links = async () =>
        ok(await runCli(["id", "external", "show", ...base, "--json"])).json().links as Record<
          string,
          unknown
        >[];

      for (
        const [token, code] of [
          [issuer.mint("ES256", { ...claims, exp: now - 1 }), "E.TIME"],
          [issuer.mint("ES256", { ...claims, aud: "other" }), "E.AUTH"],
          [testIssuer().mint("EdDSA", claims), "E.SIG"],
          [issuer.mint("ES256", claims, { alg: "HS256" }), "E.AUTH"],
        ] as const
      ) {
        const r = await link(token);
        assert.equal(r.code, 4, r.stdout + r.stderr);
        assert.equal(r.json().code, code);
      }
      assert.deepEqual(await links(), [], "nothing was linked by a refused token");

      const tokFile = `${t.path}/token`;
      await Deno.writeTextFile(tokFile, issuer.mint("RS256", claims) + "\n");
      const made = ok(await link(`@${tokFile}`)).json();
      assert.equal(made.external_sub, "google-123");
      assert.equal(made.alg, "RS256");
      let l = await links();
      assert.equal(l.length, 1);
      assert.equal(l[0]!.active, true);
      assert.equal(l[0]!.external_sub, "google-123");

      const unlink = [
        "id",
        "external",
        "unlink",
        ...base,
        "--provider",
        "google",
        "--external-sub",
        "google-123",
      ];
      ok(await runCli(unlink));
      l = await links();
      assert.equal(l[0]!.active, false);
      const again = await runCli([...unlink, "--json"]);
      assert.equal(again.code, 4, "nothing active to unlink");
      assert.equal(again.json().code, "E.NOT_FOUND");

      const st = ok(await runCli(["id", "status", ...base, "--json"])).json();
      const ctxLinks = (st.ctxs as Record<string, unknown>[])[0]!.links as Record<string, unknown>[];
      assert.equal(ctxLinks.length, 1);
    } finally {
      await t.cleanup();
    }
  });
});

Deno.test("every new id command has --help", async () => {
  for (
    const words of [
      ["id", "principal"],
      ["id", "profile", "set"],
      ["id", "profile", "show"],
      ["id", "external", "link"],
      ["id", "external", "unlink"],
      ["id", "external", "show"],
      ["id", "org", "create"],
      ["id", "org", "show"],
      ["id", "bridge"],
      ["id", "status"],
    ]
  ) {
    const r = await runCli([...words, "--help"]);
    assert.equal(r.code, 0, words.join(" "));
    assert.match(r.stdout, new RegExp(`usage: veen ${words.join(" ")}`));
  }
});
