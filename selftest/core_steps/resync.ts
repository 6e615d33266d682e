/**
 * RESYNC0 (CORE-GOALS 1.4): `bench send`, lost client state recovered by `resync`, `verify-state`; a forked stored
 * view is detected (exit 4) and rebuilt from a CHECKPOINT, and the next send does not hit E.SEQ.
 */
import { mmrRoot, toHex } from "../../core/mod.ts";
import { check, short } from "../harness.ts";
import { type CoreStep, keygen, num, sendArgs, str } from "./context.ts";

const RESYNC_COUNT = 20;

export const resync: CoreStep = {
  name: "resync",
  goal: "bench send, lose state, resync, verify-state; a forked view is detected and rebuilt (1.4)",
  async run(ctx, ev) {
    const { h } = ctx;
    const url = ctx.url;
    ctx.needOpen();
    const stream = ctx.S("core/resync");
    const carol = await keygen(h, "carol");
    const b = await h.ok([
      "bench",
      ...sendArgs(url, carol.dir, stream),
      "--count",
      String(RESYNC_COUNT),
    ]);
    const last = num(b.last_stream_seq, "bench last_stream_seq");
    ev.push(`bench send --count ${RESYNC_COUNT}: last_stream_seq ${last}`);
    await Deno.remove(`${carol.dir}/state.json`);
    const rs = await h.ok(["resync", "--hub", url, "--client", carol.dir, "--stream", stream]);
    check(rs.last_stream_seq === last, `resync ended at ${rs.last_stream_seq}, hub has ${last}`);
    check(
      rs.client_seq === RESYNC_COUNT,
      `resync recovered client_seq ${rs.client_seq}, expected ${RESYNC_COUNT}`,
    );
    ev.push(
      `state.json removed; resync: replayed ${rs.replayed}, last_stream_seq ${rs.last_stream_seq}, client_seq ${rs.client_seq}, checkpoint upto_seq ${rs.checkpoint_upto_seq}`,
    );
    const vs = await h.ok(["verify-state", "--hub", url, "--client", carol.dir, "--stream", stream]);
    check(vs.consistent === true, "verify-state after resync is not consistent");
    ev.push(
      `verify-state: consistent, hub_stream_seq ${vs.hub_stream_seq}, root ${short(vs.local_mmr_root)}`,
    );
    // Fork the stored view: other peaks with a matching root, so only the hub can tell.
    const path = `${carol.dir}/state.json`;
    const state = JSON.parse(await Deno.readTextFile(path));
    const label = str(rs.label, "resync label");
    let forked = false;
    for (const hub of Object.values(state.hubs) as { labels: Record<string, Record<string, unknown>> }[]) {
      const ls = hub.labels[label];
      if (ls === undefined) continue;
      const peaks = (ls.mmr_peaks as string[]).map(() => ctx.rng.bytes(32));
      ls.mmr_peaks = peaks.map(toHex);
      ls.last_mmr_root = toHex(mmrRoot(peaks));
      forked = true;
    }
    check(forked, "the label is missing from carol's state.json");
    await Deno.writeTextFile(path, JSON.stringify(state));
    const bad = await h.refused(
      ["verify-state", "--hub", url, "--client", carol.dir, "--stream", stream],
      "E.SEQ",
    );
    check(bad.consistent === false, "verify-state did not report consistent: false");
    ev.push(`forked view: verify-state exit 4, consistent no, mismatch_at ${bad.mismatch_at}`);
    const rb = await h.ok(["resync", "--hub", url, "--client", carol.dir, "--stream", stream]);
    check(rb.divergence !== null && rb.divergence !== undefined, "resync did not report the divergence");
    ev.push(
      `resync: divergence "${rb.divergence}", rebuilt_from ${rb.rebuilt_from}, last_stream_seq ${rb.last_stream_seq}`,
    );
    await h.ok(["verify-state", "--hub", url, "--client", carol.dir, "--stream", stream]);
    const next = await h.ok([
      ...sendArgs(url, carol.dir, stream),
      "--body",
      "{}",
    ]);
    check(
      next.stream_seq === last + 1,
      `the next send got stream_seq ${next.stream_seq}, expected ${last + 1}`,
    );
    ev.push(`verify-state consistent again; next send stream_seq ${next.stream_seq} (no E.SEQ)`);
  },
};
