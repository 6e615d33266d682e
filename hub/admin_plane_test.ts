/**
 * The admin-record stages of /submit against an in-process hub, with crafted records: the stage order of the
 * overlay decisions (author before any decryption, then open, schema, body, realm), that a refused record is never
 * appended, the open-hub rule, authors by capability, and the restart paths of the views (caught up, rebuilt when
 * ahead of the log).
 */
import assert from "node:assert/strict";
import {
  authRef,
  decodeCapToken,
  decodeCbor,
  decodeErrorBody,
  decodeRealmDescriptor,
  encodeCapToken,
  encodeCbor,
  extendCapChain,
  generateHpkeKeyPair,
  H,
  issueCapToken,
  type Msg,
  realmIdFor,
  signingKeyFromSeed,
  signMsg,
  streamIdFor,
  toHex,
  utf8,
  VeenError,
} from "../core/mod.ts";
import { adminStreamsOf, type BodyCodec, FED_AUTHORITY, LABEL_CLASS, REVOCATION } from "../overlays/mod.ts";
import { adminRecordMsg } from "../tests/federation.ts";
import { errorCode, http, postCbor, startTestHub, submit, Writer } from "../tests/fixture.ts";
import { fsck } from "./fsck.ts";
import { Logger } from "./logger.ts";
import { writeRetentionPolicy } from "./retention.ts";
import { MemoryStore } from "./memory_store.ts";
import { memoryViewStore, type ViewStore } from "./view_store.ts";
import type { RunningHub } from "./hub.ts";

const ADMIN = signingKeyFromSeed(new Uint8Array(32).fill(41));
const OTHER = signingKeyFromSeed(new Uint8Array(32).fill(42));
const [, REVOKE_S, CLASS_S] = adminStreamsOf(realmIdFor("default"), new Uint8Array(0));

/** The hub's realm admin public key, from its signed descriptor. */
async function adminPk(hub: RunningHub): Promise<Uint8Array> {
  const r = await http(hub.url + "/realm");
  return decodeRealmDescriptor(r.body, hub.hubKey.public).adminPk;
}

/** An admin MSG on `label` by `key`, sealed to `recipientPk` with `schema` and `body`. */
async function adminMsg(p: {
  key?: typeof ADMIN;
  label?: Uint8Array;
  seq?: number;
  recipientPk: Uint8Array;
  codec?: BodyCodec;
  schema?: Uint8Array;
  body: Uint8Array;
  authRef?: Uint8Array;
}): Promise<Msg> {
  const o = { key: ADMIN, label: REVOKE_S!.label, seq: 1, codec: REVOCATION, ...p };
  return await adminRecordMsg({ ...o, schema: o.schema ?? o.codec.schemaId });
}

const revocationBody = (target: Uint8Array, ts = 0) => REVOCATION.encode({ kind: "client-id", target, ts });

/** ADMIN's revocation of client `target`, as admin record `seq` of the revocation stream, submitted to `hub`. */
async function revokeClient(hub: RunningHub, seq: number, target: Uint8Array) {
  const recipientPk = await adminPk(hub);
  const body = revocationBody(target);
  return submit(
    hub.url,
    await adminMsg({ key: ADMIN, label: REVOKE_S!.label, seq, recipientPk, codec: REVOCATION, body }),
  );
}

async function headSeq(hub: RunningHub, label: Uint8Array): Promise<number> {
  const r = await http(`${hub.url}/healthz?label=${toHex(label)}`);
  return (JSON.parse(new TextDecoder().decode(r.body)) as { last_stream_seq: number }).last_stream_seq;
}

async function withDir(f: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "veen-admin-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("admin records: author before decryption, then open, schema, body, realm; refusals are not appended", async () => {
  await withDir(async (dir) => {
    const hub = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)] });
    try {
      const pk = await adminPk(hub);
      const code = async (m: Msg) => {
        const r = await submit(hub.url, m);
        return r.status === 200 ? "ok" : `${errorCode(r)} ${decodeErrorBody(r.body)?.detail}`;
      };
      // A non-admin with garbage ciphertext: refused as an author, never decrypted (not "not sealed").
      const junk = new Writer("x", 42);
      const notAdmin = { ...junk.msg(), label: REVOKE_S!.label };
      const opens = async () =>
        Number(
          /veen_admin_record_opens_total (\d+)/.exec(await (await fetch(hub.url + "/metrics")).text())![1],
        );
      assert.match(await code(signMsg(notAdmin, OTHER.secret)), /^E\.AUTH .*need an admin key/);
      assert.equal(await opens(), 0);
      // An admin's record sealed to another key: E.AUTH not sealed to this realm.
      const elsewhere = generateHpkeKeyPair().public;
      assert.match(
        await code(
          await adminMsg({
            recipientPk: elsewhere,
            body: revocationBody(OTHER.public),
          }),
        ),
        /^E\.AUTH .*not sealed to this realm/,
      );
      // A schema the stream does not admit: E.SIZE.
      assert.match(
        await code(
          await adminMsg({
            recipientPk: pk,
            codec: LABEL_CLASS,
            body: LABEL_CLASS.encode({ label: new Uint8Array(32), class: "user" }),
          }),
        ),
        /^E\.SIZE .*not admitted on admin stream revocation/,
      );
      // A body that does not decode: E.SIZE naming the field.
      assert.match(
        await code(
          await adminMsg({
            recipientPk: pk,
            body: utf8("{}"),
          }),
        ),
        /^E\.SIZE /,
      );
      // An authority record naming another realm: E.AUTH.
      const fed = adminStreamsOf(realmIdFor("default"), new Uint8Array(0))[0]!;
      const authority = FED_AUTHORITY.encode({
        realm_id: realmIdFor("other"),
        stream_id: streamIdFor("s"),
        primary_hub: new Uint8Array(32),
        replica_hubs: [],
        policy: "single-primary",
        ts: 1,
        ttl: 10,
      });
      assert.match(
        await code(
          await adminMsg({
            label: fed.label,
            recipientPk: pk,
            codec: FED_AUTHORITY,
            body: authority,
          }),
        ),
        /^E\.AUTH .*not this hub's realm/,
      );
      assert.equal(await headSeq(hub, REVOKE_S!.label), 0);
      assert.equal(await headSeq(hub, fed.label), 0);
      // The well-formed record is accepted and in force before its RECEIPT reached us.
      assert.equal(
        await code(
          await adminMsg({
            recipientPk: pk,
            body: revocationBody(OTHER.public),
          }),
        ),
        "ok",
      );
      assert.match(await code(new Writer("y", 42).msg()), /^E\.AUTH .*Revoked \(client-id\)/);
    } finally {
      await hub.close();
    }
  });
});

Deno.test("admin records: an open hub accepts any signer; a later start with admin keys warns about them", async () => {
  await withDir(async (dir) => {
    const hub = await startTestHub(dir, { admission: "off" });
    try {
      const pk = await adminPk(hub);
      const body = LABEL_CLASS.encode({ label: new Uint8Array(32), class: "log" });
      const m = await adminMsg({
        key: OTHER,
        label: CLASS_S!.label,
        recipientPk: pk,
        codec: LABEL_CLASS,
        body,
      });
      assert.equal((await submit(hub.url, m)).status, 200);
    } finally {
      await hub.close();
    }
    const lines: Record<string, unknown>[] = [];
    const logger = new Logger("warn", "hub", "standalone", (l) => void lines.push(JSON.parse(l)));
    const again = await startTestHub(dir, { admission: "off", adminKeys: [toHex(ADMIN.public)] }, { logger });
    try {
      const warned = lines.filter((l) =>
        l.msg === "folded admin records come from a key that is not an admin now"
      );
      assert.equal(warned.length, 1, JSON.stringify(lines));
      assert.equal(warned[0]!.client_id, toHex(OTHER.public));
      assert.equal(warned[0]!.via, "open");
      // With admin keys set, the same signer is refused now.
      const body = LABEL_CLASS.encode({ label: new Uint8Array(32), class: "log" });
      const m = await adminMsg({
        key: OTHER,
        label: CLASS_S!.label,
        seq: 2,
        recipientPk: await adminPk(again),
        codec: LABEL_CLASS,
        body,
      });
      assert.equal(errorCode(await submit(again.url, m)), "E.AUTH");
    } finally {
      await again.close();
    }
  });
});

Deno.test("admin records: a cap rooted in an admin key authors; one rooted in another trusted issuer does not", async () => {
  await withDir(async (dir) => {
    const issuer = signingKeyFromSeed(new Uint8Array(32).fill(43));
    const hub = await startTestHub(dir, {
      admission: "on",
      adminKeys: [toHex(ADMIN.public)],
      trustedIssuers: [toHex(ADMIN.public), toHex(issuer.public)],
    });
    try {
      const pk = await adminPk(hub);
      const capBy = async (by: typeof ADMIN) => {
        const bytes = encodeCapToken(issueCapToken({
          issuerSecret: by.secret,
          issuerPk: by.public,
          subjectPk: OTHER.public,
          streamIds: [REVOKE_S!.streamId],
          ttl: 3600,
        }));
        assert.equal((await postCbor(hub.url, "/authorize", bytes)).status, 200);
        return authRef(decodeCapToken(bytes));
      };
      const record = (seq: number, ref: Uint8Array) =>
        adminMsg({
          key: OTHER,
          seq,
          recipientPk: pk,
          body: revocationBody(new Uint8Array(32).fill(1)),
          authRef: ref,
        });
      const refused = await submit(hub.url, await record(1, await capBy(issuer)));
      assert.equal(errorCode(refused), "E.AUTH");
      assert.equal(await headSeq(hub, REVOKE_S!.label), 0);
      assert.equal((await submit(hub.url, await record(1, await capBy(ADMIN)))).status, 200);
      assert.equal(await headSeq(hub, REVOKE_S!.label), 1);
    } finally {
      await hub.close();
    }
  });
});

Deno.test("admin views: a restart over a log that lost the admin entries rebuilds the views (ahead of the log)", async () => {
  await withDir(async (dir) => {
    const store = new MemoryStore();
    const hub = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)] }, { store });
    assert.equal((await revokeClient(hub, 1, OTHER.public)).status, 200);
    assert.equal((await submit(hub.url, new Writer("z", 42).msg())).status, 403);
    await hub.close();
    // Same data dir (views.kv says revocation upto 1), fresh store (head 0): the views are rebuilt, i.e. emptied.
    const again = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)] }, { store: new MemoryStore() });
    try {
      assert.equal((await submit(again.url, new Writer("z", 42).msg())).status, 200);
      const list = JSON.parse(new TextDecoder().decode((await http(again.url + "/admin/revocations")).body));
      assert.deepEqual(list.revocations, []);
    } finally {
      await again.close();
    }
  });
});

Deno.test("revocations of auth-ref and cap-token: submits and /authorize refused, variants of the chain too", async () => {
  await withDir(async (dir) => {
    const hub = await startTestHub(dir, { admission: "on", adminKeys: [toHex(ADMIN.public)] });
    try {
      const pk = await adminPk(hub);
      const writer = new Writer("w", 44);
      const token = issueCapToken({
        issuerSecret: hub.hubKey.secret,
        issuerPk: hub.hubKey.public,
        subjectPk: writer.key.public,
        streamIds: [streamIdFor("w")],
        ttl: 3600,
      });
      const longer = extendCapChain(token, hub.hubKey.secret);
      const longest = extendCapChain(longer, hub.hubKey.secret);
      const authorize = (t: typeof token) => postCbor(hub.url, "/authorize", encodeCapToken(t));
      assert.equal((await authorize(longer)).status, 200);
      const send = (t: typeof token) => submit(hub.url, writer.msg({ authRef: authRef(t) }));
      assert.equal((await send(longer)).status, 200);
      let seq = 0;
      const revoke = async (kind: string, target: Uint8Array) => {
        const body = REVOCATION.encode({ kind, target, ts: 0 });
        const m = await adminMsg({
          seq: ++seq,
          recipientPk: pk,
          body,
        });
        assert.equal((await submit(hub.url, m)).status, 200);
      };
      // cap-token names H(CBOR(longer)): longer is refused, its extension by prefix hash, its prefix by cap root.
      await revoke("cap-token", H(encodeCapToken(longer)));
      writer.seq--;
      const r1 = await send(longer);
      assert.equal(errorCode(r1), "E.AUTH");
      assert.equal(errorCode(await authorize(longest)), "E.AUTH");
      assert.equal(errorCode(await authorize(token)), "E.AUTH");
      const status = decodeCbor(
        (await http(`${hub.url}/authorize?auth_ref=${toHex(authRef(longer))}`)).body,
      ) as Map<string, unknown>;
      assert.equal(status.get("revoked"), true);
      assert.equal(status.get("revocation_kind"), "cap-token");
      assert.equal(status.get("currently_valid"), false);

      // auth-ref names one token: another capability of the same subject still works until it is revoked.
      const other = issueCapToken({
        issuerSecret: hub.hubKey.secret,
        issuerPk: hub.hubKey.public,
        subjectPk: writer.key.public,
        streamIds: [streamIdFor("w"), streamIdFor("v")],
        ttl: 3600,
      });
      assert.equal((await authorize(other)).status, 200);
      assert.equal((await send(other)).status, 200);
      await revoke("auth-ref", authRef(other));
      assert.equal(errorCode(await send(other)), "E.AUTH");
      writer.seq--;
      assert.equal(errorCode(await send(longer)), "E.AUTH");
    } finally {
      await hub.close();
    }
  });
});

Deno.test("admin views: a failed view write keeps the submission and the view in memory; the next start folds it again", async () => {
  await withDir(async (dir) => {
    const store = new MemoryStore();
    const inner = memoryViewStore();
    let fail = false;
    const views: ViewStore = {
      ...inner,
      write: (rows, stream, upto) =>
        fail ? Promise.reject(new Error("disk full")) : inner.write(rows, stream, upto),
    };
    const hub = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)] }, { store, viewStore: views });
    const pk = await adminPk(hub);
    const victim = signingKeyFromSeed(new Uint8Array(32).fill(45));
    const revokeMsg = (seq: number, target: Uint8Array) =>
      adminMsg({
        seq,
        recipientPk: pk,
        body: revocationBody(target),
      });
    try {
      fail = true;
      assert.equal((await submit(hub.url, await revokeMsg(1, OTHER.public))).status, 200);
      fail = false;
      // Persisting stopped at the failure, so the store stays a prefix of the log: this record is not written either.
      assert.equal((await submit(hub.url, await revokeMsg(2, victim.public))).status, 200);
      assert.equal(errorCode(await submit(hub.url, new Writer("a", 42).msg())), "E.AUTH");
      assert.equal(errorCode(await submit(hub.url, new Writer("a", 45).msg())), "E.AUTH");
      assert.equal((await inner.load()).upto.get("revocation") ?? 0, 0);
    } finally {
      await hub.close();
    }
    const again = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)] }, { store, viewStore: inner });
    try {
      assert.equal((await inner.load()).upto.get("revocation"), 2);
      const w = new Writer("a", 42);
      w.seq = 0;
      assert.equal(errorCode(await submit(again.url, w.msg())), "E.AUTH");
    } finally {
      await again.close();
    }
  });
});

Deno.test("admin views: without views.kv, a start refuses when retention dropped admin entries (never a partial view)", async () => {
  await withDir(async (dir) => {
    const clock = { ms: Date.now() };
    const cfg = { adminKeys: [toHex(ADMIN.public)], segmentBytes: 4096 };
    const extra = { now: () => clock.ms, retentionIntervalMs: 0 };
    const hub = await startTestHub(dir, cfg, extra);
    try {
      assert.equal((await revokeClient(hub, 1, OTHER.public)).status, 200);
      const filler = new Writer("filler", 46);
      for (let i = 0; i < 40; i++) {
        assert.equal((await submit(hub.url, filler.msg({ bodyLen: 600 }))).status, 200);
      }
      await writeRetentionPolicy(dir, { receiptsDays: null, payloadsDays: 1, checkpointsDays: null });
      clock.ms += 2 * 86_400_000;
      await hub.retentionPass();
      // The views still hold the revocation (they were persisted before its RECEIPT).
      assert.equal(errorCode(await submit(hub.url, new Writer("b", 42).msg())), "E.AUTH");
    } finally {
      await hub.close();
    }
    // views.kv survives a restart as is ...
    const again = await startTestHub(dir, cfg, extra);
    try {
      assert.equal(errorCode(await submit(again.url, new Writer("b", 42).msg())), "E.AUTH");
    } finally {
      await again.close();
    }
    // ... but without it the dropped admin entry cannot be folded again: refused, naming the stream and entry.
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith("views.kv")) await Deno.remove(`${dir}/${e.name}`);
    }
    await assert.rejects(
      startTestHub(dir, cfg, extra),
      (e) =>
        e instanceof VeenError && e.code === "E.UNAVAILABLE" &&
        /revocation entry 1 is not retained/.test(e.detail),
    );
  });
});

Deno.test("admin views: a change of realm rebuilds the views from that realm's admin streams", async () => {
  await withDir(async (dir) => {
    const hub = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)] });
    try {
      assert.equal((await revokeClient(hub, 1, OTHER.public)).status, 200);
    } finally {
      await hub.close();
    }
    const other = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)], realm: "other" });
    try {
      assert.equal((await submit(other.url, new Writer("c", 42).msg())).status, 200);
    } finally {
      await other.close();
    }
    const back = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)] });
    try {
      assert.equal(errorCode(await submit(back.url, new Writer("c", 42).msg({ clientSeq: 2 }))), "E.AUTH");
    } finally {
      await back.close();
    }
  });
});

Deno.test("fsck checks views.kv against a fold of the admin streams: a changed or extra row is an inconsistency", async () => {
  await withDir(async (dir) => {
    const hub = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)] });
    try {
      assert.equal((await revokeClient(hub, 1, OTHER.public)).status, 200);
      const body = LABEL_CLASS.encode({ label: new Uint8Array(32).fill(7), class: "log" });
      const m = await adminMsg({
        label: CLASS_S!.label,
        recipientPk: await adminPk(hub),
        codec: LABEL_CLASS,
        body,
      });
      assert.equal((await submit(hub.url, m)).status, 200);
    } finally {
      await hub.close();
    }
    const clean = await fsck(dir);
    assert.ok(clean.ok, JSON.stringify(clean.error));
    assert.deepEqual(clean.warnings.filter((w) => w.file === "views.kv"), []);
    const kv = await Deno.openKv(`${dir}/views.kv`);
    const key = ["row", "label_classes", "07".repeat(32)];
    const row = (await kv.get<Uint8Array>(key)).value!;
    const changed = row.slice();
    changed[changed.length - 1]! ^= 1; // the last byte of the stored record: another class name
    await kv.set(key, changed);
    kv.close();
    const bad = await fsck(dir);
    assert.equal(bad.ok, false);
    assert.equal(bad.error?.file, "views.kv");
    assert.match(
      bad.error!.what,
      /view label_classes row 0707.* differs from the fold of stream label_class/,
    );
    const kv2 = await Deno.openKv(`${dir}/views.kv`);
    await kv2.set(key, row);
    await kv2.set(["row", "schemas", "ab".repeat(32)], encodeCbor([1]));
    kv2.close();
    const extra = await fsck(dir);
    assert.match(extra.error!.what, /view schemas row abab.* is not in the fold of stream schema_meta/);
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith("views.kv")) await Deno.remove(`${dir}/${e.name}`);
    }
    const missing = await fsck(dir);
    assert.ok(missing.ok);
    assert.deepEqual(missing.warnings.map((w) => w.what), [
      "views.kv is missing: the next start rebuilds the views",
    ]);
  });
});

Deno.test("authority records: folded by stream; one naming an admin stream is refused and not appended", async () => {
  await withDir(async (dir) => {
    const hub = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)] });
    try {
      const fed = adminStreamsOf(realmIdFor("default"), new Uint8Array(0))[0]!;
      const pk = await adminPk(hub);
      const authority = (seq: number, streamId: Uint8Array) =>
        adminMsg({
          label: fed.label,
          seq,
          recipientPk: pk,
          codec: FED_AUTHORITY,
          body: FED_AUTHORITY.encode({
            realm_id: realmIdFor("default"),
            stream_id: streamId,
            primary_hub: new Uint8Array(32).fill(3),
            replica_hubs: [],
            policy: "single-primary",
            ts: 1,
            ttl: 4_000_000_000,
          }),
        });
      const refused = await submit(hub.url, await authority(1, REVOKE_S!.streamId));
      assert.equal(errorCode(refused), "E.AUTH");
      assert.match(decodeErrorBody(refused.body)!.detail!, /cannot name admin stream revocation/);
      assert.equal(await headSeq(hub, fed.label), 0);
      assert.equal((await submit(hub.url, await authority(1, streamIdFor("chat")))).status, 200);
      assert.equal(await headSeq(hub, fed.label), 1);
    } finally {
      await hub.close();
    }
  });
});

Deno.test("admin views: a views.kv row that does not decode is derived state: the start rebuilds the views", async () => {
  await withDir(async (dir) => {
    const cfg = { adminKeys: [toHex(ADMIN.public)] };
    const label = new Uint8Array(32).fill(8);
    const hub = await startTestHub(dir, cfg);
    try {
      const body = LABEL_CLASS.encode({ label, class: "bulk" });
      const m = await adminMsg({
        label: CLASS_S!.label,
        recipientPk: await adminPk(hub),
        codec: LABEL_CLASS,
        body,
      });
      assert.equal((await submit(hub.url, m)).status, 200);
    } finally {
      await hub.close();
    }
    const kv = await Deno.openKv(`${dir}/views.kv`);
    await kv.set(["row", "label_classes", toHex(label)], encodeCbor([1, new Uint8Array([0xff, 0x00])]));
    kv.close();
    const lines: Record<string, unknown>[] = [];
    const logger = new Logger("warn", "hub", "standalone", (l) => void lines.push(JSON.parse(l)));
    const again = await startTestHub(dir, cfg, { logger });
    try {
      assert.ok(
        lines.some((l) => String(l.reason).startsWith("a views.kv row does not decode")),
        JSON.stringify(lines),
      );
      const r = await http(`${again.url}/admin/label-class?label=${toHex(label)}`);
      assert.equal(JSON.parse(new TextDecoder().decode(r.body)).class, "bulk");
    } finally {
      await again.close();
    }
  });
});
