/**
 * Persisted admin views (overlay decisions, "Realm and admin records"): `DIR/views.kv`, a Deno KV database of the
 * rows each view changed, `["row", view, key] → CBOR(value)`, per admin stream the last stream_seq folded in,
 * `["upto", stream] → seq`, written in one atomic commit per admin record, and `["labels"]`, the admin labels (hex)
 * the views were folded from, so that a change of realm or routing key rebuilds them. It is derived state: when it is missing
 * or ahead of the log, the views are rebuilt from the admin streams (hub/admin_plane.ts).
 */
import { type CborValue, decodeCbor, encodeCbor, VeenError } from "../core/mod.ts";
import type { ViewRow } from "../overlays/mod.ts";
import { Lock } from "./files.ts";
import { restrictKvFiles } from "./kv_index.ts";
import { dumpKv } from "./kv_rows.ts";

export const VIEWS_FILE = "views.kv";

export interface StoredViews {
  rows: Map<string, ViewRow[]>;
  upto: Map<string, number>;
  /** The admin labels (hex, in realm stream order) the views were folded from; undefined before the first write. */
  labels?: string[];
}

export interface ViewStore {
  load(): Promise<StoredViews>;
  /** Writes changed rows of views and the new `upto` of `stream`, atomically and durably. */
  write(rows: { view: string; row: ViewRow }[], stream: string, upto: number): Promise<void>;
  /** Deletes every row and upto (before a rebuild), and records the admin labels the views are folded from. */
  clear(labels: string[]): Promise<void>;
  /** Every row of `views.kv` as hub/kv_rows.ts lines, between two writes (an online backup); absent in memory. */
  dump?(): Promise<string[]>;
  close(): void;
}

/** A view store on Deno KV at `path`. */
export async function openViewStore(path: string): Promise<ViewStore> {
  let kv: Deno.Kv;
  try {
    kv = await Deno.openKv(path);
    await restrictKvFiles(path);
  } catch (e) {
    throw new VeenError("E.UNAVAILABLE", `Cannot open admin views ${path}: ${(e as Error).message}`);
  }
  // Writes and dumps do not interleave, so a dump holds whole records.
  const lock = new Lock();
  return {
    async load() {
      const rows = new Map<string, ViewRow[]>();
      const upto = new Map<string, number>();
      for await (const e of kv.list<Uint8Array>({ prefix: ["row"] })) {
        const [, view, key] = e.key as [string, string, string];
        const list = rows.get(view) ?? [];
        list.push([key, decodeCbor(e.value, `admin view row ${view}/${key}`)]);
        rows.set(view, list);
      }
      for await (const e of kv.list<number>({ prefix: ["upto"] })) upto.set(e.key[1] as string, e.value);
      const labels = (await kv.get<string[]>(["labels"])).value ?? undefined;
      return { rows, upto, ...(labels === undefined ? {} : { labels }) };
    },
    write(rows, stream, upto) {
      return lock.run(async () => {
        const op = kv.atomic();
        for (const { view, row: [key, value] } of rows) {
          op.set(["row", view, key], encodeCbor(value as CborValue));
        }
        op.set(["upto", stream], upto);
        const res = await op.commit();
        if (!res.ok) throw new VeenError("E.UNAVAILABLE", `Admin views commit failed for ${stream}`);
      });
    },
    clear(labels) {
      return lock.run(async () => {
        for (const prefix of [["row"], ["upto"]]) {
          for await (const e of kv.list({ prefix })) await kv.delete(e.key);
        }
        await kv.set(["labels"], labels);
      });
    },
    dump: () => lock.run(() => dumpKv(kv)),
    close() {
      kv.close();
    },
  };
}

/** A view store in memory (tests; and hubs whose views need not outlive the process). */
export function memoryViewStore(): ViewStore {
  const rows = new Map<string, Map<string, ViewRow>>();
  const upto = new Map<string, number>();
  let labels: string[] | undefined;
  return {
    load() {
      return Promise.resolve({
        rows: new Map([...rows].map(([v, m]) => [v, [...m.values()]])),
        upto: new Map(upto),
        ...(labels === undefined ? {} : { labels }),
      });
    },
    write(changed, stream, n) {
      for (const { view, row } of changed) {
        const m = rows.get(view) ?? new Map<string, ViewRow>();
        m.set(row[0], row);
        rows.set(view, m);
      }
      upto.set(stream, n);
      return Promise.resolve();
    },
    clear(l) {
      rows.clear();
      upto.clear();
      labels = l;
      return Promise.resolve();
    },
    close() {},
  };
}
