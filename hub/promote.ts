/**
 * `veen hub promote --stream NAME --hub DIR [--old-primary URL]` (overlay decisions "FED1 / AUTH1", disaster
 * cutover, docs/replication.md "After a flip"): records in DIR/promotions.json that the hub running on DIR takes
 * over the stream now without catching up with its old primary (hub/catch_up.ts), and prints what may be lost: the
 * old primary's last seq (asked at --old-primary when given and reachable) against this hub's head.
 */
import { fromHex, labelFor, streamIdFor, toHex, VeenError } from "../core/mod.ts";
import { type CommandContext, readState, stateUrl, usageError } from "../cmd/mod.ts";
import { lastSeqAt, type Promotion, PROMOTIONS_FILE, readPromotions } from "./catch_up.ts";
import { writeFileAtomic } from "./files.ts";

export async function promoteCommand(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  const dir = f.req("hub");
  if (/^https?:\/\//i.test(dir)) {
    throw usageError("hub promote needs the hub's data dir (--hub DIR): it writes DIR/" + PROMOTIONS_FILE);
  }
  const stream = f.req("stream");
  const url = stateUrl(await readState(dir));
  if (url === undefined) throw new VeenError("E.UNAVAILABLE", `No hub is running on ${dir}`);
  const info = await getJson(url, "/info");
  const streamId = streamIdFor(stream);
  const label = labelFor(
    streamId,
    fromHex(String(info.routing_key_hex ?? ""), undefined, "routing_key_hex"),
    0,
  );
  const local = Number((await getJson(url, `/healthz?label=${toHex(label)}`)).last_stream_seq ?? 0);
  const oldUrl = f.str("old-primary");
  const old = oldUrl === undefined ? undefined : await lastSeqAt(oldUrl, label);
  const promotions = await readPromotions(dir);
  // The hub's own clock decides whether the promotion covers the deciding record (hub/catch_up.ts).
  const hubNow = (await getJson(url, "/authority")).now;
  const p: Promotion = {
    promoted_at: typeof hubNow === "number" ? hubNow : Math.floor(ctx.io.now() / 1000),
    label: toHex(label),
    local_seq: local,
    old_primary_seq: old ?? null,
  };
  promotions[toHex(streamId)] = p;
  await writeFileAtomic(dir, PROMOTIONS_FILE, new TextEncoder().encode(JSON.stringify(promotions) + "\n"));
  const mayLose = old === undefined ? null : Math.max(0, old - local);
  ctx.out.result({ stream, ...p, may_lose: mayLose }, [
    `promoted ${stream} (label ${toHex(label)}) on ${dir}: local head ${local}`,
    old === undefined
      ? `old primary ${
        oldUrl === undefined ? "not asked" : "unreachable"
      }: entries it accepted after stream_seq ` +
        `${local} may be lost`
      : mayLose === 0
      ? `old primary's last seq ${old}: nothing is lost`
      : `old primary's last seq ${old}: entries ${local + 1}..${old} may be lost`,
  ]);
  return 0;
}

async function getJson(url: string, path: string): Promise<Record<string, unknown>> {
  try {
    const r = await fetch(url.replace(/\/+$/, "") + path, { signal: AbortSignal.timeout(10_000) });
    return await r.json();
  } catch (e) {
    throw new VeenError("E.UNAVAILABLE", `Cannot ask the hub at ${url}: ${(e as Error).message}`);
  }
}
