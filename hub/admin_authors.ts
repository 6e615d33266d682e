/**
 * Who wrote the admin records the hub folded (overlay decisions: "at start the hub warns when folded records come
 * from keys that are not admins now"): per author client_id, how it was admitted — its own admin key, a capability
 * rooted in an issuer, or an open hub — persisted with the views so that a start can judge every folded record's
 * author against the current `admin_keys` in O(authors).
 */
import { bytesEqual, type CborValue, toHex } from "../core/mod.ts";
import type { AdminRecordEntry, AdminView, ViewRow } from "../overlays/mod.ts";

export type AuthorVia = "admin_key" | "cap" | "open" | "unknown";

export interface Author {
  clientId: Uint8Array;
  via: AuthorVia;
  /** The cap chain's root issuer, when admitted by capability. */
  root?: Uint8Array;
}

interface AuthorRow {
  author: Author;
  records: number;
  lastSeq: number;
}

/** Authors of folded admin records, keyed by client_id. Entries without an author (none today) are skipped. */
export class AuthorsView implements AdminView {
  readonly name = "authors";
  readonly stream = "fed_admin"; // a view of every admin stream; `stream` only names its home
  #rows = new Map<string, AuthorRow>();

  apply(e: AdminRecordEntry & { author?: Author }): ViewRow[] {
    if (e.author === undefined) return [];
    const key = toHex(e.author.clientId);
    const row = this.#rows.get(key) ?? { author: e.author, records: 0, lastSeq: 0 };
    row.author = e.author;
    row.records++;
    row.lastSeq = e.seq;
    this.#rows.set(key, row);
    const a = row.author;
    return [[key, [a.clientId, a.via, a.root ?? null, row.records, row.lastSeq] as CborValue]];
  }

  load([key, v]: ViewRow): void {
    const [clientId, via, root, records, lastSeq] = v as [
      Uint8Array,
      AuthorVia,
      Uint8Array | null,
      number,
      number,
    ];
    this.#rows.set(key, { author: { clientId, via, ...(root === null ? {} : { root }) }, records, lastSeq });
  }

  clear(): void {
    this.#rows.clear();
  }

  /** Authors whose records the current admin keys (and hub key) would not admit now. */
  foreign(adminKeys: readonly Uint8Array[], hubPk: Uint8Array): (Author & { records: number })[] {
    const admin = (k: Uint8Array | undefined) =>
      k !== undefined && (bytesEqual(k, hubPk) || adminKeys.some((a) => bytesEqual(a, k)));
    const out: (Author & { records: number })[] = [];
    for (const { author, records } of this.#rows.values()) {
      const ok = author.via === "cap" ? admin(author.root) : admin(author.clientId) && author.via !== "open";
      if (!ok) out.push({ ...author, records });
    }
    return out;
  }
}
