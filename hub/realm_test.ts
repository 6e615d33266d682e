import assert from "node:assert/strict";
import { decodeRealmDescriptor, realmIdFor, signingKeyFromSeed, toHex, VeenError } from "../core/mod.ts";
import { adminStreamsOf } from "../overlays/mod.ts";
import { encodeRealmAdminKey, loadOrCreateRealmAdminKey, REALM_ADMIN_KEY_FILE, realmOf } from "./realm.ts";

const HUB = signingKeyFromSeed(new Uint8Array(32).fill(3));

async function withDir(f: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "veen-realm-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("realm admin key: created once (0600), never regenerated, earlier secrets kept", async () => {
  await withDir(async (dir) => {
    const a = await loadOrCreateRealmAdminKey(dir, "");
    assert.equal(a.created, true);
    assert.equal((await Deno.stat(`${dir}/${REALM_ADMIN_KEY_FILE}`)).mode! & 0o777, 0o600);
    const b = await loadOrCreateRealmAdminKey(dir, "");
    assert.equal(b.created, false);
    assert.deepEqual(b.key, a.key);
    const rotated = [new Uint8Array(32).fill(9), ...a.key.secrets];
    await Deno.writeFile(`${dir}/shared`, encodeRealmAdminKey(rotated));
    const c = await loadOrCreateRealmAdminKey(dir, `${dir}/shared`);
    assert.deepEqual(c.key.secrets, rotated);
  });
});

Deno.test("realm admin key: a configured file that is missing or corrupt stops the start (nothing is created)", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      loadOrCreateRealmAdminKey(dir, `${dir}/missing`),
      (e) => e instanceof VeenError && e.code === "E.UNAVAILABLE" && /does not exist/.test(e.detail),
    );
    await Deno.writeFile(`${dir}/${REALM_ADMIN_KEY_FILE}`, new Uint8Array([0xa0]));
    await assert.rejects(
      loadOrCreateRealmAdminKey(dir, ""),
      (e) => e instanceof VeenError && e.code === "E.UNAVAILABLE" && /not readable/.test(e.detail),
    );
    assert.deepEqual(await Deno.readFile(`${dir}/${REALM_ADMIN_KEY_FILE}`), new Uint8Array([0xa0]));
  });
});

Deno.test("realm descriptor: signed by the hub key, names the realm's admin labels; another key is E.SIG", async () => {
  await withDir(async (dir) => {
    const { key } = await loadOrCreateRealmAdminKey(dir, "");
    const routingKey = new Uint8Array([1, 2, 3]);
    const realm = realmOf("acme", HUB, routingKey, key);
    const d = decodeRealmDescriptor(realm.descriptor, HUB.public);
    assert.equal(toHex(d.realmId), toHex(realmIdFor("acme")));
    assert.equal(d.realmName, "acme");
    assert.deepEqual(d.adminPk, key.public);
    assert.deepEqual(d.adminLabels, adminStreamsOf(realmIdFor("acme"), routingKey).map((s) => s.label));
    assert.equal(realm.adminStreamOf(d.adminLabels[1]!)?.name, "revocation");
    assert.equal(realm.adminStreamOf(new Uint8Array(32)), undefined);
    const other = signingKeyFromSeed(new Uint8Array(32).fill(4));
    assert.throws(
      () => decodeRealmDescriptor(realm.descriptor, other.public),
      (e) => e instanceof VeenError && e.code === "E.SIG",
    );
    const tampered = realm.descriptor.slice();
    tampered[tampered.length - 70]! ^= 1;
    assert.throws(() => decodeRealmDescriptor(tampered, HUB.public), (e) => e instanceof VeenError);
  });
});
