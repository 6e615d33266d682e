import assert from "node:assert/strict";
import { runCli, tempDir } from "../testing/run.ts";

Deno.test("keygen creates keystore.enc, identity_card.pub and state.json, all 0600, in a 0700 directory (spec 001 §4.1)", async () => {
  const t = await tempDir();
  try {
    const dir = `${t.path}/c`;
    const r = await runCli(["keygen", "--out", dir, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json();
    assert.equal(j.ok, true);
    assert.match(String(j.client_id), /^[0-9a-f]{64}$/);
    assert.equal(j.keystore_encrypted, false);
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    for (const f of ["keystore.enc", "identity_card.pub", "state.json"]) {
      assert.equal((await Deno.stat(`${dir}/${f}`)).mode! & 0o777, 0o600, f);
    }
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.ok(!names.includes("identity_card.json"), names.join(", "));
    const card = JSON.parse(await Deno.readTextFile(`${dir}/identity_card.pub`));
    assert.equal(card.client_id, j.client_id);
    assert.equal(card.hpke_pk, j.hpke_pk);
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/state.json`)).format, "veen-client-state");
  } finally {
    await t.cleanup();
  }
});

Deno.test("keygen refuses a non-empty directory and a missing --out (exit 1)", async () => {
  const t = await tempDir();
  try {
    await Deno.writeTextFile(`${t.path}/x`, "x");
    const r = await runCli(["keygen", "--out", t.path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^E\.USAGE: Refusing to write into non-empty/);
    const m = await runCli(["keygen"]);
    assert.equal(m.code, 1);
    assert.match(m.stderr, /Missing required flag --out/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("keygen encrypts the keystore with the passphrase from --passphrase-env or VEEN_PASSPHRASE", async () => {
  const t = await tempDir();
  try {
    const r = await runCli(["keygen", "--out", `${t.path}/a`, "--passphrase-env", "PW"], { PW: "secret" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /keystore: encrypted/);
    assert.equal(JSON.parse(await Deno.readTextFile(`${t.path}/a/keystore.enc`)).encrypted, true);
    const missing = await runCli(["keygen", "--out", `${t.path}/b`, "--passphrase-env", "NOPE"]);
    assert.equal(missing.code, 1);
    const viaEnv = await runCli(["keygen", "--out", `${t.path}/c`], { VEEN_PASSPHRASE: "pw" });
    assert.match(viaEnv.stdout, /keystore: encrypted/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a client directory whose card has the old name identity_card.json still works", async () => {
  const t = await tempDir();
  try {
    const dir = `${t.path}/old`;
    const made = await runCli(["keygen", "--out", dir, "--json"]);
    assert.equal(made.code, 0, made.stderr);
    await Deno.rename(`${dir}/identity_card.pub`, `${dir}/identity_card.json`);
    const shown = await runCli(["id", "show", "--client", dir, "--json"]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.json().client_id, made.json().client_id);
    const issued = await runCli([
      "cap",
      "issue",
      "--issuer",
      dir,
      "--subject",
      dir,
      "--stream",
      "s",
      "--ttl",
      "60",
      "--out",
      `${t.path}/cap.cbor`,
    ]);
    assert.equal(issued.code, 0, issued.stderr);
  } finally {
    await t.cleanup();
  }
});
