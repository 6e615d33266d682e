/**
 * `veen selftest recorder` (SDR0, 001 L740-970, L963; docs/recorder.md): on a hub the suite starts with admin_keys
 * set to an admin it creates, classifies recorder streams long_term, emits record.event.v1 as a separate producer,
 * makes the hub checkpoint on demand (the producer may not), anchors that CHECKPOINT at once, and replays by seq
 * range and hub_ts window with every item verified; a range beyond the head fails loudly (I2). Needs its own hub,
 * so with `--hub URL` every step is reported as skipped.
 */
import { check, type Harness, short, StepSkipped } from "./harness.ts";
import { arr, type Client, keygen, num, str } from "./core_steps/context.ts";

const SUITE = "recorder";

export const RECORDER_GOAL =
  "record init (long_term class), record emit as a producer, hub checkpoint --now by the admin only and " +
  "anchor publish right after, replay by seq range and hub_ts window with every item verified, loud on a " +
  "range beyond the head (SDR0 I1, I2)";

const SECURITY = "record/security/auth";
const CHANGES = "record/infrastructure/changes";

interface RecCtx {
  url: string;
  admin: Client;
  producer: Client;
  emitted: { seq: number; hubTs: number; mmrRoot: string }[];
}

type RecStep = { name: string; goal: string; run(c: RecCtx, ev: string[]): Promise<void> };

function steps(h: Harness): RecStep[] {
  /** `veen WORDS --hub URL --client ADMIN --stream record/security/auth ...` (record replay, stream). */
  const asAdmin = (c: RecCtx, words: string[], ...more: string[]) => [
    ...words,
    "--hub",
    c.url,
    "--client",
    c.admin.dir,
    "--stream",
    SECURITY,
    ...more,
  ];
  const replay = (c: RecCtx, ...more: string[]) => h.ok(asAdmin(c, ["record", "replay"], ...more));
  return [
    {
      name: "init",
      goal:
        "record init: recorder streams get class long_term (never dropped) and a sensitivity per namespace",
      async run(c, ev) {
        await h.ok([
          "record",
          "init",
          "--hub",
          c.url,
          "--stream",
          SECURITY,
          "--stream",
          CHANGES,
          "--admin",
          c.admin.dir,
        ]);
        for (const [stream, sensitivity] of [[SECURITY, "high"], [CHANGES, "medium"]]) {
          const show = await h.ok(["label-class", "show", "--hub", c.url, "--stream", stream!]);
          check(
            show.class === "long_term",
            `label-class show ${stream}: class "${show.class}", expected long_term`,
          );
          check(
            show.sensitivity === sensitivity,
            `label-class show ${stream}: sensitivity ${show.sensitivity}`,
          );
          ev.push(
            `${stream}: class ${show.class}, sensitivity ${show.sensitivity}, ${show.retention_policy}`,
          );
        }
      },
    },
    {
      name: "emit",
      goal: "record emit: five record.event.v1 by the producer, sealed to the admin, at stream_seq 1..5",
      async run(c, ev) {
        const emit = (stream: string, subject: string, type: string, ...more: string[]) =>
          h.ok([
            ...["record", "emit", "--hub", c.url, "--client", c.producer.dir, "--stream", stream],
            ...["--subject-id", subject, "--event-type", type, "--origin", "selftest", ...more],
          ]);
        for (let i = 1; i <= 5; i++) {
          const type = i % 2 === 0 ? "logout" : "login";
          const e = await emit(SECURITY, `user-${i}`, type, "--payload", `{"n":${i}}`, "--to", c.admin.dir);
          check(e.stream_seq === i, `record emit ${i}: stream_seq ${e.stream_seq}`);
          check(e.principal_id === c.producer.clientId, `record emit: principal_id ${short(e.principal_id)}`);
          c.emitted.push({ seq: i, hubTs: num(e.hub_ts, "hub_ts"), mmrRoot: str(e.mmr_root, "mmr_root") });
        }
        await emit(CHANGES, "ops", "migration");
        ev.push(
          `5 events on ${SECURITY} (hub_ts ${c.emitted[0]!.hubTs}..${c.emitted[4]!.hubTs}), 1 on ${CHANGES}`,
        );
      },
    },
    {
      name: "checkpoint",
      goal:
        "hub checkpoint --now: the admin gets CHECKPOINTs at the heads and an export checkpoint; the producer " +
        "is refused (E.AUTH); anchor publish right after succeeds",
      async run(c, ev) {
        await h.refused(
          ["hub", "checkpoint", "--hub", c.url, "--stream", SECURITY, "--now", "--admin", c.producer.dir],
          "E.AUTH",
        );
        const cp = await h.ok([
          "hub",
          "checkpoint",
          "--hub",
          c.url,
          "--stream",
          SECURITY,
          "--stream",
          CHANGES,
          "--now",
          "--admin",
          c.admin.dir,
        ]);
        check(cp.upto_seq === 5, `hub checkpoint --now: upto_seq ${cp.upto_seq}, expected 5`);
        check(
          cp.mmr_root === c.emitted[4]!.mmrRoot,
          "hub checkpoint --now: mmr_root is not the last RECEIPT's",
        );
        const list = arr(cp.checkpoints, "checkpoints");
        check(
          list.length === 2 && list[1]!.upto_seq === 1,
          "hub checkpoint --now: the second stream's CHECKPOINT",
        );
        ev.push(
          `producer's request: E.AUTH; admin's: upto_seq 5 and 1, export checkpoint ${
            short((cp.export_checkpoint as Record<string, unknown>).id)
          }`,
        );
        const a = await h.ok([
          "anchor",
          "publish",
          "--hub",
          c.url,
          "--stream",
          SECURITY,
          "--backend-dir",
          `${h.root}/files/recorder-anchors`,
        ]);
        check(a.upto_seq === 5, `anchor publish: upto_seq ${a.upto_seq}`);
        ev.push(`anchor publish right after: anchor_ref ${short(a.anchor_ref)} at upto_seq ${a.upto_seq}`);
      },
    },
    {
      name: "replay-range",
      goal:
        "record replay --from 2 --to 4 --with-proof and veen stream --from 2 --to 4: exactly 2..4, decoded, " +
        "verified; --to beyond the head exits 4 (E.NOT_FOUND)",
      async run(c, ev) {
        const r = await replay(c, "--from", "2", "--to", "4", "--with-proof");
        const events = arr(r.events, "events");
        check(
          events.map((e) => e.hub_commit_seq).join() === "2,3,4",
          `record replay 2..4 returned ${events.map((e) => e.hub_commit_seq).join()}`,
        );
        check(
          events[0]!.subject_id === "user-2" && events[0]!.proof === "verified",
          "record replay: event 2",
        );
        const s = await h.ok(asAdmin(c, ["stream"], "--from", "2", "--to", "4", "--with-proof"));
        check(arr(s.items, "items").length === 3, "veen stream --from 2 --to 4 did not return 3 items");
        await h.refused(asAdmin(c, ["record", "replay"], "--to", "99"), "E.NOT_FOUND");
        await h.refused(asAdmin(c, ["stream"], "--from", "4", "--to", "99"), "E.NOT_FOUND");
        ev.push(
          "replay 2..4: 3 events decoded and proved; stream 2..4: 3 items; --to 99: exit 4 E.NOT_FOUND",
        );
      },
    },
    {
      name: "replay-window",
      goal:
        "record replay --start-time --end-time: exactly the events whose hub_commit_time is in the window, " +
        "every item of the stream verified",
      async run(c, ev) {
        const t = c.emitted[2]!.hubTs;
        const r = await replay(c, "--start-time", String(t), "--end-time", String(t));
        const want = c.emitted.filter((e) => e.hubTs === t).map((e) => e.seq).join();
        const got = arr(r.events, "events").map((e) => e.hub_commit_seq).join();
        check(got === want, `window [${t}, ${t}]: events ${got}, expected ${want}`);
        check(arr(r.streams, "streams")[0]!.verified === 5, "the window replay did not verify all 5 items");
        ev.push(`window [${t}, ${t}]: events ${got} of 5 verified`);
      },
    },
  ];
}

export async function recorderSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, RECORDER_GOAL);
  let c: RecCtx | undefined;
  const ok = await h.step(
    SUITE,
    "setup",
    "start a hub whose admin_keys hold a new recorder admin; a separate producer",
    async (ev) => {
      if (h.deployed) {
        throw new StepSkipped("needs a hub whose admin_keys hold a key this run creates; not run with --hub");
      }
      const admin = await keygen(h, "recorder-admin");
      const producer = await keygen(h, "recorder-producer");
      const hub = await h.startHub(
        "recorder",
        { env: { VEEN_ADMIN_KEYS: admin.clientId } },
        "admin_keys: recorder-admin",
      );
      c = { url: hub.url, admin, producer, emitted: [] };
      ev.push(
        `veen hub start: ${hub.url}, admin_keys ${short(admin.clientId)}, producer ${
          short(producer.clientId)
        }`,
      );
    },
    { critical: true },
  );
  if (!ok || c === undefined) return;
  for (const s of steps(h)) await h.step(SUITE, s.name, s.goal, (ev) => s.run(c!, ev));
}
