/**
 * Retention (CLI-GOALS-1 §13.3): `retention show --data-dir` lists the policy and this run's labels; `retention set`
 * shows back. Needs the hub's data directory (own hubs only).
 */
import { labelFor, streamIdFor, toHex } from "../../core/mod.ts";
import { check } from "../harness.ts";
import { arr, type CoreStep, needOwnHub, requireCommand } from "./context.ts";

export const retention: CoreStep = {
  name: "retention",
  goal: "veen retention show --data-dir (CLI-GOALS-1 §13.3)",
  async run(ctx, ev) {
    const { h } = ctx;
    await requireCommand(h, "retention", "show");
    needOwnHub(h, "needs the hub's data directory");
    const dir = ctx.main!.dir;
    const j = await h.ok(["retention", "show", "--data-dir", dir], { bareJson: true });
    const fam = (k: string) => j[k] as Record<string, unknown> | undefined;
    for (const k of ["receipts", "payloads", "checkpoints"]) {
      check(fam(k) !== undefined, `retention show lacks ${k}`);
    }
    const labels = arr(j.labels, "retention labels");
    const rl = toHex(labelFor(streamIdFor(h.stream("core/resync"))));
    const mine = labels.find((l) => l.label === rl);
    check(
      mine !== undefined,
      `retention show does not list the label of core/resync (${labels.length} labels)`,
    );
    ev.push(
      `retention show: receipts ${fam("receipts")!.days ?? "forever"}, payloads ${
        fam("payloads")!.days ?? "forever"
      }, ` +
        `checkpoints ${
          fam("checkpoints")!.days ?? "forever"
        }; ${labels.length} labels, core/resync first retained ` +
        `${mine.first_receipt_seq}/${mine.first_payload_seq} of ${mine.last_seq}`,
    );
    if (await h.hasCommand(["retention", "set"])) {
      await h.ok(["retention", "set", "--data-dir", dir, "--payloads-days", "30"], { bareJson: true });
      const k = await h.ok(["retention", "show", "--data-dir", dir], { bareJson: true });
      check(
        (k.payloads as Record<string, unknown>).days === 30,
        "retention set --payloads-days 30 did not show",
      );
      ev.push(`retention set --payloads-days 30 → show: payloads 30 days`);
    }
  },
};
