/**
 * ANCHOR0 (CORE-GOALS 1.7): `anchor publish` a CHECKPOINT's mmr_root to a file backend, `anchor verify` it; a
 * tampered CHECKPOINT and a wrong anchor_ref fail with exit 4.
 */
import { check, fail, short, StepSkipped } from "../harness.ts";
import { type CoreStep, requireCommand } from "./context.ts";

export const anchor: CoreStep = {
  name: "anchor",
  goal: "anchor publish a CHECKPOINT's mmr_root; anchor verify; tampered CHECKPOINT / wrong ref fail (1.7)",
  async run(ctx, ev) {
    const { h } = ctx;
    await requireCommand(h, "anchor", "publish");
    await requireCommand(h, "anchor", "verify");
    ctx.needOpen();
    const files = `${h.root}/files`;
    const backend = `${files}/anchors`;
    const stream = h.stream("core/resync");
    const pub = await h.cli([
      "anchor",
      "publish",
      "--hub",
      ctx.url,
      "--stream",
      stream,
      "--backend-dir",
      backend,
      "--out",
      `${files}/anchored.cbor`,
    ]);
    if (pub.code === 4 && pub.json?.code === "E.NOT_FOUND" && h.deployed) {
      throw new StepSkipped(
        `the deployed hub has no CHECKPOINT for ${stream} yet (checkpoint_every not reached)`,
      );
    }
    if (pub.code !== 0 || pub.json?.ok !== true) {
      fail(
        `${pub.line} exited ${pub.code}: ${pub.json?.code}: ${pub.json?.detail}`,
      );
    }
    const j = pub.json;
    ev.push(
      `anchor publish: anchor_ref …${String(j.anchor_ref).slice(-16)} (position ${j.position}) for mmr_root ${
        short(j.mmr_root)
      } (upto_seq ${j.upto_seq}, epoch ${j.epoch})`,
    );
    const verify = (checkpoint: string) => [
      "anchor",
      "verify",
      "--checkpoint",
      checkpoint,
      "--backend-dir",
      backend,
      "--hub",
      ctx.url,
    ];
    const v = await h.ok(verify(`${files}/anchored.cbor`));
    check(v.valid === true && v.hub_sig === "ok" && v.anchor === "ok", `anchor verify: ${summarize(v)}`);
    ev.push(`anchor verify: hub_sig ok, anchor ok`);
    const cp = await Deno.readFile(`${files}/anchored.cbor`);
    const bad = new Uint8Array(cp);
    bad[bad.length - 10] = bad[bad.length - 10]! ^ 0x01; // one bit of hub_sig (the last field)
    await Deno.writeFile(`${files}/anchored_bad.cbor`, bad);
    const r1 = await h.cli(verify(`${files}/anchored_bad.cbor`));
    check(r1.code === 4, `anchor verify of a tampered CHECKPOINT exited ${r1.code}`);
    const wrongRef = String(j.anchor_ref).slice(0, -2) +
      (String(j.anchor_ref).endsWith("00") ? "01" : "00");
    const r2 = await h.cli([...verify(`${files}/anchored.cbor`), "--anchor-ref", wrongRef]);
    check(r2.code === 4, `anchor verify with a wrong anchor_ref exited ${r2.code}`);
    ev.push(`tampered CHECKPOINT: exit 4 ${r1.json?.code}; wrong anchor_ref: exit 4 ${r2.json?.code}`);
  },
};

/** A compact one-line rendering of a JSON answer for evidence. */
function summarize(j: Record<string, unknown>, max = 300): string {
  const s = JSON.stringify(Object.fromEntries(Object.entries(j).filter(([k]) => k !== "ok")));
  return s.length > max ? s.slice(0, max) + "…" : s;
}
