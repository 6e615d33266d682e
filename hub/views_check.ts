/**
 * fsck of the admin views (docs/admin.md "Views and restart"): `views.kv` is derived from the admin streams, so
 * fsck folds the admin entries it met in the log again, with the realm admin key of the data dir, and compares the
 * rows with the stored ones up to each stream's stored `upto`. A stored row the fold does not give (or gives
 * otherwise) is an inconsistency; what the next start repairs by itself (views behind or ahead of the log, no
 * `views.kv`) is a warning, and so is what fsck cannot check (the key is configured outside the data dir, admin
 * entries were dropped by retention). Rows the hub learns at run time (`cap-root` rows, authors) are not compared.
 */
import { decodeMsg, DEFAULT_PROFILE, encodeCbor, toHex } from "../core/mod.ts";
import {
  ADMIN_STREAM_NAMES,
  type AdminStreamName,
  type AdminView,
  AuthorityView,
  GrantView,
  LabelClassView,
  RevocationView,
  SchemaView,
} from "../overlays/mod.ts";
import { openAdminRecord } from "./admin_plane.ts";
import { parseRealmAdminKey, REALM_ADMIN_KEY_FILE } from "./realm.ts";
import { openViewStore, VIEWS_FILE } from "./view_store.ts";

/** The admin entries fsck met in the log, per admin label (hex): `msg` null when its payload was dropped. */
export type AdminEntries = Map<string, { seq: number; msg: Uint8Array | null }[]>;

export interface ViewsCheck {
  /** The admin labels (hex) of `views.kv`, in realm stream order; empty when there is nothing to check. */
  labels: string[];
  /** Compares the stored rows with a fold of `entries`: an inconsistency, and warnings. */
  check(entries: AdminEntries): Promise<{ problem?: string; warnings: string[] }>;
  close(): void;
}

const RUNTIME_ROW = /^cap-root\//;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Opens `DIR/views.kv` (when present) for {@link ViewsCheck}. */
export async function openViewsCheck(dir: string): Promise<ViewsCheck> {
  const path = `${dir}/${VIEWS_FILE}`;
  if (!(await exists(path))) {
    return {
      labels: [],
      check: () =>
        Promise.resolve({ warnings: [`${VIEWS_FILE} is missing: the next start rebuilds the views`] }),
      close() {},
    };
  }
  const store = await openViewStore(path);
  const stored = await store.load();
  const labels = stored.labels ?? [];
  return {
    labels,
    close: () => store.close(),
    async check(entries) {
      const warnings: string[] = [];
      if (labels.length !== ADMIN_STREAM_NAMES.length) {
        return { warnings: [`${VIEWS_FILE} names no admin labels: the next start rebuilds the views`] };
      }
      let secrets: Uint8Array[];
      try {
        const keyPath = `${dir}/${REALM_ADMIN_KEY_FILE}`;
        secrets = parseRealmAdminKey(await Deno.readFile(keyPath), keyPath).secrets;
      } catch (e) {
        const why = e instanceof Deno.errors.NotFound
          ? "is not in the data dir (configured elsewhere?)"
          : String(e);
        return { warnings: [`admin views not checked: ${REALM_ADMIN_KEY_FILE} ${why}`] };
      }
      const views: AdminView[] = [
        new RevocationView(),
        new AuthorityView(),
        new GrantView(),
        new LabelClassView(),
        new SchemaView(),
      ];
      const fresh = new Map<string, Map<string, string>>(views.map((v) => [v.name, new Map()]));
      const unchecked = new Set<AdminStreamName>();
      for (const [i, name] of ADMIN_STREAM_NAMES.entries()) {
        const upto = stored.upto.get(name) ?? 0;
        const list = entries.get(labels[i]!) ?? [];
        const head = list.length === 0 ? 0 : list[list.length - 1]!.seq;
        if (upto > head) {
          warnings.push(`${name}: views fold ${upto} entries but the log has ${head}: rebuilt at start`);
        } else if (upto < head) {
          warnings.push(`${name}: entries ${upto + 1}..${head} not folded yet: folded at start`);
        }
        const dropped = list.some((e) => e.seq <= upto && e.msg === null);
        if (dropped) {
          warnings.push(`${name}: admin entries were dropped by retention; its views are not checked`);
          unchecked.add(name);
          continue;
        }
        if (upto > head) {
          unchecked.add(name);
          continue;
        }
        for (const e of list) {
          if (e.seq > upto) break;
          const rec = await openAdminRecord(
            decodeMsg(e.msg!, Number.MAX_SAFE_INTEGER),
            { name },
            secrets,
            DEFAULT_PROFILE.padBlock,
          );
          if (rec === undefined || typeof rec === "string") continue; // the hub skips it too (logged at start)
          for (const v of views) {
            for (const [k, val] of v.apply({ ...rec, seq: e.seq })) {
              fresh.get(v.name)!.set(k, toHex(encodeCbor(val)));
            }
          }
        }
      }
      for (const v of views) {
        if (unchecked.has(v.stream)) continue;
        const want = fresh.get(v.name)!;
        const have = new Map(
          (stored.rows.get(v.name) ?? []).filter(([k]) => !RUNTIME_ROW.test(k)).map((
            [k, val],
          ) => [k, toHex(encodeCbor(val))]),
        );
        for (const [k, val] of have) {
          if (want.get(k) !== val) {
            return {
              warnings,
              problem: `view ${v.name} row ${k} ${
                want.has(k) ? "differs from" : "is not in"
              } the fold of stream ${v.stream}`,
            };
          }
        }
        for (const k of want.keys()) {
          if (!have.has(k)) {
            return { warnings, problem: `view ${v.name} lacks row ${k} of the fold of stream ${v.stream}` };
          }
        }
      }
      return { warnings };
    },
  };
}
