/** `label-class set|show|list` against a real hub with admin_keys: LCLASS0 end to end, and what the hub enforces. */
import assert from "node:assert/strict";
import { type AdminHub, removeViews, withAdminHub } from "../testing/admin_hub.ts";
import { runCli } from "../testing/run.ts";
import { writeRetentionPolicy } from "../../hub/mod.ts";

type Run = Awaited<ReturnType<typeof runCli>>;
const ok = (r: Run) => {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.json();
};

const setClass = (h: AdminHub, signer: string, ...more: string[]) =>
  runCli(["label-class", "set", "--hub", h.hub, "--stream", "s", "--signer", signer, "--json", ...more]);
const show = (h: AdminHub) => runCli(["label-class", "show", "--hub", h.hub, "--stream", "s", "--json"]);
const send = (h: AdminHub, dir: string, n: number) => h.send(dir, "s", `{"n":${n}}`);

async function classMetric(h: AdminHub, cls: string): Promise<number> {
  const text = await (await fetch(`${h.url()}/metrics`)).text();
  const m = new RegExp(`^veen_submit_class_total\\{class="${cls}"\\} (\\d+)$`, "m").exec(text);
  return m === null ? 0 : Number(m[1]);
}

Deno.test("label-class: unset until set; the last record in stream order wins; per-class metric; restart and a lost views.kv keep it", async () => {
  await withAdminHub(async (h) => {
    const alice = await h.client("alice");
    ok(await send(h, alice, 1));
    assert.equal(await classMetric(h, "unset"), 1);
    const none = ok(await show(h));
    assert.equal(none.class, "unset");
    assert.equal(none.sensitivity, "none");
    assert.equal(none.retention_hint, 0);
    assert.equal(none.pad_block_effective, 256);
    assert.equal(none.rate_policy, "default (capability rate only)");
    assert.equal(none.retention_policy, "hub: receipts forever, payloads forever");
    const text = await runCli(["label-class", "show", "--hub", h.hub, "--stream", "s"]);
    assert.match(text.stdout, /^class: unset$/m);
    assert.match(text.stdout, /^pad_block_effective: 256$/m);

    const first = ok(
      await setClass(h, h.admin, "--class", "bulk", "--sensitivity", "low", "--retention-hint", "3600"),
    );
    assert.deepEqual(
      [first.class, first.sensitivity, first.retention_hint, first.label],
      ["bulk", "low", 3600, none.label],
    );
    assert.match(first.retention_policy as string, /^at least 3600 s/);
    // The second record for the label replaces the first, optional fields included.
    ok(await setClass(h, h.admin, "--class", "log"));
    const now = ok(await show(h));
    assert.deepEqual([now.class, now.sensitivity, now.retention_hint], ["log", "none", 0]);
    const byLabel = ok(
      await runCli(["label-class", "show", "--hub", h.hub, "--label", none.label as string, "--json"]),
    );
    assert.equal(byLabel.class, "log");
    const list = ok(await runCli(["label-class", "list", "--hub", h.hub, "--json"]));
    assert.deepEqual(list.label_classes, [
      { label: none.label, class: "log", sensitivity: null, retention_hint: null },
    ]);
    assert.deepEqual(
      ok(await runCli(["label-class", "list", "--hub", h.hub, "--class", "bulk", "--json"])).label_classes,
      [],
    );
    ok(await send(h, alice, 2));
    assert.equal(await classMetric(h, "log"), 1);
    assert.equal(await classMetric(h, "unset"), 3); // the first MSG and the two admin records

    await h.restart();
    assert.equal(ok(await show(h)).class, "log");
    await h.restart(() => removeViews(h.hub));
    assert.equal(ok(await show(h)).class, "log");
    assert.equal(
      (ok(await runCli(["label-class", "list", "--hub", h.hub, "--json"])).label_classes as []).length,
      1,
    );
  });
});

Deno.test("label-class set: a non-admin's record is refused and not appended; bad flags are usage errors", async () => {
  await withAdminHub(async (h) => {
    const other = await h.client("other");
    const r = await setClass(h, other, "--class", "admin");
    assert.equal(r.code, 4, r.stdout);
    assert.equal(r.json().code, "E.AUTH");
    assert.deepEqual(ok(await runCli(["label-class", "list", "--hub", h.hub, "--json"])).label_classes, []);
    // The admin's record is the stream's first entry: the refused one took no stream_seq.
    assert.equal(ok(await setClass(h, h.admin, "--class", "admin")).record_stream_seq, 1);
    const both = await runCli([
      "label-class",
      "set",
      "--hub",
      h.hub,
      "--stream",
      "s",
      "--label",
      "00".repeat(32),
      "--class",
      "x",
      "--signer",
      h.admin,
    ]);
    assert.equal(both.code, 1);
    assert.equal((await setClass(h, h.admin, "--class", "x", "--sensitivity", "extreme")).code, 1);
  });
});

Deno.test("class_rates: a label of a rated class takes exactly burst MSGs, then E.RATE with Retry-After and no stream_seq", async () => {
  await withAdminHub(async (h) => {
    const alice = await h.client("alice");
    ok(await setClass(h, h.admin, "--class", "bulk"));
    assert.equal(
      ok(await show(h)).rate_policy,
      "class bulk: 1/s burst 3 per label, plus any capability rate",
    );
    for (let n = 1; n <= 3; n++) assert.equal(ok(await send(h, alice, n)).stream_seq, n);
    const refused = await send(h, alice, 4);
    assert.equal(refused.code, 4, refused.stdout);
    assert.equal(refused.json().code, "E.RATE");
    assert.equal(refused.json().retry_after, 1);
    assert.match(refused.json().detail as string, /class "bulk"/);
    h.clock.t += 1; // one token back
    assert.equal(ok(await send(h, alice, 4)).stream_seq, 4);
    // Another label of no rated class is not limited.
    ok(await h.send(alice, "t"));
  }, { classRates: ["bulk=1/3"] });
});

Deno.test("retention_hint is a retention minimum: a segment holding entries of such a label stays until every entry is that old", async () => {
  await withAdminHub(async (h) => {
    const alice = await h.client("alice");
    const sendTo = (stream: string) => h.send(alice, stream);
    for (let i = 0; i < 12; i++) ok(await sendTo("other"));
    for (let i = 0; i < 4; i++) ok(await sendTo("keep"));
    const keep = ok(
      await runCli([
        "label-class",
        "set",
        "--hub",
        h.hub,
        "--stream",
        "keep",
        "--class",
        "audit",
        "--retention-hint",
        "3600",
        "--signer",
        h.admin,
        "--json",
      ]),
    );
    for (let i = 0; i < 6; i++) ok(await sendTo("other"));
    const firstPayload = async (label: unknown) => {
      const info = await (await fetch(`${h.url()}/info`)).json();
      const l = (info.retention.labels as { label: string; first_payload_seq: number }[]).find((x) =>
        x.label === label
      );
      return l!.first_payload_seq;
    };
    const otherLabel =
      ok(await runCli(["label-class", "show", "--hub", h.hub, "--stream", "other", "--json"])).label;
    await writeRetentionPolicy(h.hub, { receiptsDays: null, payloadsDays: 0, checkpointsDays: null });
    h.clock.t += 10;
    await h.retentionPass();
    assert.ok((await firstPayload(otherLabel)) > 1, "segments holding only unclassified entries are dropped");
    assert.equal(await firstPayload(keep.label), 1, "the segment with the classified label's entries stays");
    assert.match(
      keep.retention_policy as string,
      /^at least 3600 s \(hub: receipts forever, payloads forever\)$/,
    );
    h.clock.t += 3600;
    await h.retentionPass();
    assert.ok((await firstPayload(keep.label)) > 1, "once its entries are 3600 s old the segment goes");
  }, { segmentBytes: 1024 });
});
