/**
 * `veen selftest bridge` (AGB0, 001 L971-1235, L1223-1226; docs/airgap-bridge.md): starts hubs for zone 1 and zone 2,
 * checks that zone 1 refuses a forged event, exports two verified bundles with `bridge export` (logged on
 * bridge/online/log), stops zone 1 and imports one bundle into zone 2 (J3: the import needs no path back), re-imports
 * it (nothing added), refuses a bundle with a flipped byte (nothing imported, logged on bridge/offline/log, exit 4)
 * and reconciles: every imported event maps to exactly one origin RECEIPT (J1), nothing of the imported bundle is
 * missing (J2), and the bundle never imported is reported missing. Needs its own hubs, so with `--hub URL` every
 * step is reported as skipped.
 */
import { encodeMsg } from "../core/mod.ts";
import { Crafter } from "./craft.ts";
import { check, expectError, type Harness, type HubHandle, short, StepSkipped } from "./harness.ts";
import { arr, type Client, keygen, sendArgs, streamArgs } from "./core_steps/context.ts";

const SUITE = "bridge";

export const BRIDGE_GOAL =
  "zone 1 refuses a forged event; bridge export writes verified bundles (bridge/online/log); with zone 1 stopped " +
  "bridge import commits them in zone 2, re-import adds nothing, a flipped byte imports nothing (exit 4, " +
  "bridge/offline/log); bridge reconcile: J1 one origin per import, J2 nothing missing, J3 no path back";

const SOURCE = "export/zone1/audit";
const TARGET = `import/${SOURCE}`;

interface BridgeCtx {
  z1: HubHandle;
  z2: HubHandle;
  producer: Client;
  online: Client;
  offline: Client;
  b1: string;
  b2: string;
  bundleId?: string;
}

type BridgeStep = { name: string; goal: string; run(c: BridgeCtx, ev: string[]): Promise<void> };

function steps(h: Harness): BridgeStep[] {
  const count = async (hub: HubHandle, client: Client, stream: string) => {
    const r = await h.cli(streamArgs(hub.url, client.dir, stream));
    return r.code === 0 ? arr(r.json?.items, "items").length : 0;
  };
  /** `veen bridge WORD --hub ZONE2 --client OFFLINE --bundle FILE...`. */
  const zone2 = (c: BridgeCtx, word: string, ...bundles: string[]) => [
    "bridge",
    word,
    "--hub",
    c.z2.url,
    "--client",
    c.offline.dir,
    ...bundles.flatMap((b) => ["--bundle", b]),
  ];
  const importArgs = (c: BridgeCtx, bundle: string) => zone2(c, "import", bundle);
  const reconcileArgs = (c: BridgeCtx, ...bundles: string[]) => zone2(c, "reconcile", ...bundles);
  return [
    {
      name: "source-integrity",
      goal:
        "zone 1 refuses a MSG with a flipped signature bit on the export stream (E.SIG): no forged event can " +
        "enter a bundle",
      async run(c, ev) {
        const w = new Crafter(`${h.opts.seed}/${h.runId}/bridge-forged`, SOURCE);
        const m = w.msg({ clientSeq: 1 });
        const sig = new Uint8Array(m.sig);
        sig[3] = sig[3]! ^ 0x01;
        const r = await h.post(c.z1.url, "/submit", encodeMsg({ ...m, sig }));
        ev.push(`forged MSG on ${SOURCE}: ${expectError(r, "E.SIG", "a MSG with a flipped sig bit")}`);
      },
    },
    {
      name: "export",
      goal:
        "bridge export: bundles of seqs 1..3 and 4..4, every item verified, each logged on bridge/online/log",
      async run(c, ev) {
        for (let i = 1; i <= 4; i++) {
          await h.ok([...sendArgs(c.z1.url, c.producer.dir, SOURCE), "--body", `{"event":${i}}`]);
        }
        const exp = (from: string, to: string, out: string) =>
          h.ok([
            "bridge",
            "export",
            "--hub",
            c.z1.url,
            "--client",
            c.online.dir,
            "--stream",
            SOURCE,
            "--from",
            from,
            "--to",
            to,
            "--out",
            out,
          ]);
        const e1 = await exp("1", "3", c.b1);
        check(e1.events === 3, `bridge export 1..3: ${e1.events} events`);
        const e2 = await exp("4", "4", c.b2);
        check(e2.events === 1, `bridge export 4..4: ${e2.events} events`);
        c.bundleId = String(e1.bundle_id);
        const logged = await count(c.z1, c.online, "bridge/online/log");
        check(logged === 2, `bridge/online/log holds ${logged} records, expected 2`);
        ev.push(
          `bundle ${short(e1.bundle_id)}: 3 events; bundle ${short(e2.bundle_id)}: 1 event; 2 audit records`,
        );
      },
    },
    {
      name: "import",
      goal: "with zone 1 stopped (J3), bridge import commits the 3 events in zone 2 at its own seqs 1..3",
      async run(c, ev) {
        ev.push(await h.stopHub(c.z1));
        const r = await h.ok(importArgs(c, c.b1));
        check(r.bundle_id === c.bundleId, `bridge import: bundle_id ${short(r.bundle_id)}`);
        check(
          r.imported === 3 && r.duplicates === 0,
          `bridge import: imported ${r.imported}, duplicates ${r.duplicates}`,
        );
        check(r.target_stream === TARGET, `bridge import: target ${r.target_stream}`);
        check(r.target_seq_from === 1 && r.target_seq_to === 3, "bridge import: target seqs are not 1..3");
        ev.push(`imported 3 into ${TARGET} (seqs 1..3) with zone 1 down`);
      },
    },
    {
      name: "reimport",
      goal: "importing the same bundle again adds nothing (3 duplicates)",
      async run(c, ev) {
        const r = await h.ok(importArgs(c, c.b1));
        check(
          r.imported === 0 && r.duplicates === 3,
          `re-import: imported ${r.imported}, duplicates ${r.duplicates}`,
        );
        const n = await count(c.z2, c.offline, TARGET);
        check(n === 3, `${TARGET} holds ${n} events after the re-import`);
        ev.push(`re-import: 0 imported, 3 duplicates; ${TARGET} still holds 3`);
      },
    },
    {
      name: "tampered",
      goal: "a bundle with one flipped byte imports nothing, exits 4 and is logged on bridge/offline/log",
      async run(c, ev) {
        const bytes = await Deno.readFile(c.b1);
        bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0x01;
        const bad = `${h.root}/files/bridge-tampered.cbor`;
        await Deno.writeFile(bad, bytes);
        const before = await count(c.z2, c.offline, "bridge/offline/log");
        const r = await h.refused([...importArgs(c, bad), "--to-stream", "import/tampered"], "E.SIG");
        check(r.imported === 0, `tampered import: imported ${r.imported}`);
        check(await count(c.z2, c.offline, "import/tampered") === 0, "the tampered bundle imported events");
        const after = await count(c.z2, c.offline, "bridge/offline/log");
        check(after === before + 1, `bridge/offline/log went from ${before} to ${after} records`);
        ev.push(`flipped byte: exit 4 E.SIG at position ${r.position}, nothing imported, failure logged`);
      },
    },
    {
      name: "reconcile",
      goal:
        "bridge reconcile: the imported bundle is complete (J1 one origin RECEIPT each, J2 nothing missing); " +
        "the bundle never imported is reported missing (exit 4)",
      async run(c, ev) {
        const r = await h.ok(reconcileArgs(c, c.b1));
        check(
          r.matched === 3 && r.missing === 0 && r.duplicated === 0 && r.changed === 0,
          "reconcile of bundle 1",
        );
        check(
          arr(r.unmatched, "unmatched").length === 0,
          "reconcile: imported events without an origin in the bundle",
        );
        const log = arr(r.bundles, "bundles")[0]!.import_log as string[];
        check(log.includes("success"), `reconcile: bridge/offline/log of bundle 1 is [${log.join(", ")}]`);
        const both = await h.refused(reconcileArgs(c, c.b1, c.b2), "E.SEQ");
        const b = arr(both.bundles, "bundles");
        check(
          b[1]!.status === "missing",
          `reconcile: the second bundle is ${b[1]!.status}, expected missing`,
        );
        ev.push(`bundle 1: 3 matched; bundle 2: missing [${(b[1]!.missing as number[]).join(",")}] (exit 4)`);
      },
    },
  ];
}

export async function bridgeSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, BRIDGE_GOAL);
  let c: BridgeCtx | undefined;
  const ok = await h.step(
    SUITE,
    "setup",
    "start hubs for zone 1 and zone 2; a producer and the bridge's online and offline clients",
    async (ev) => {
      if (h.deployed) throw new StepSkipped("needs two hubs of its own (and stops one); not run with --hub");
      const producer = await keygen(h, "bridge-producer");
      const online = await keygen(h, "bridge-online");
      const offline = await keygen(h, "bridge-offline");
      const z1 = await h.startHub("bridge-z1", {}, "zone 1");
      const z2 = await h.startHub("bridge-z2", {}, "zone 2");
      c = {
        z1,
        z2,
        producer,
        online,
        offline,
        b1: `${h.root}/files/bridge-b1.cbor`,
        b2: `${h.root}/files/bridge-b2.cbor`,
      };
      ev.push(`zone 1 ${z1.url}, zone 2 ${z2.url}`);
    },
    { critical: true },
  );
  if (!ok || c === undefined) return;
  for (const s of steps(h)) await h.step(SUITE, s.name, s.goal, (ev) => s.run(c!, ev));
}
