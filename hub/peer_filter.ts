/**
 * IP/subnet allow and deny lists of stage 0 (spec 002 §5.1, docs/hub-config.md `ip_allow`, `ip_deny`): IPv4
 * and IPv6 CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128). A peer matching any
 * deny block is refused; with a non-empty allow list, a peer matching no allow block is refused; deny wins.
 * IPv4-mapped IPv6 peers (`::ffff:a.b.c.d`) are matched as their IPv4 address. Refusals are 403 E.AUTH.
 */
import { VeenError } from "../core/mod.ts";

/** One CIDR block: the address bytes (4 or 16) and the prefix length. */
export interface Cidr {
  bytes: Uint8Array;
  prefix: number;
  text: string;
}

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  let text = s;
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tail = parseV4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const group = (h: string) => h === "" ? [] : h.split(":");
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tail !== undefined) out.set(tail, 12);
  return out;
}

/** The bytes of an IPv4 or IPv6 address (brackets allowed); IPv4-mapped IPv6 becomes IPv4; undefined if invalid. */
export function parseIp(s: string): Uint8Array | undefined {
  const t = s.replace(/^\[|\]$/g, "");
  const v4 = parseV4(t);
  if (v4 !== undefined) return v4;
  const v6 = t.includes(":") ? parseV6(t) : undefined;
  if (v6 === undefined) return undefined;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

/** Parses `ADDR[/PREFIX]`; throws a RangeError naming the text when it is not a CIDR block. */
export function parseCidr(text: string): Cidr {
  const [addr, len, more] = text.trim().split("/");
  const bytes = addr === undefined ? undefined : parseIp(addr);
  const v6Mapped = bytes !== undefined && bytes.length === 4 && addr!.includes(":");
  const max = bytes === undefined ? 0 : bytes.length * 8;
  let prefix = len === undefined ? max : /^[0-9]{1,3}$/.test(len) ? Number(len) : -1;
  // `::ffff:10.0.0.0/104` is the IPv4 block 10.0.0.0/8.
  if (v6Mapped && len !== undefined) prefix -= 96;
  if (bytes === undefined || more !== undefined || prefix < 0 || prefix > max) {
    throw new RangeError(`"${text}" is not an IPv4 or IPv6 CIDR block`);
  }
  return { bytes, prefix, text: text.trim() };
}

/** Whether `ip` (from parseIp) lies in `block`. */
export function cidrContains(block: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== block.bytes.length) return false;
  const full = block.prefix >> 3;
  for (let i = 0; i < full; i++) if (ip[i] !== block.bytes[i]) return false;
  const bits = block.prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (ip[full]! & mask) === (block.bytes[full]! & mask);
}

export class PeerFilter {
  readonly allow: readonly Cidr[];
  readonly deny: readonly Cidr[];

  /** Throws a RangeError for an entry that is not a CIDR block (the config turns it into E.CONFIG). */
  constructor(allow: readonly string[], deny: readonly string[]) {
    this.allow = allow.map(parseCidr);
    this.deny = deny.map(parseCidr);
  }

  /** Whether any list is configured. */
  get enabled(): boolean {
    return this.allow.length > 0 || this.deny.length > 0;
  }

  /** 403 E.AUTH when `peer` is denied or, with an allow list, not allowed. */
  check(peer: string): void {
    if (!this.enabled) return;
    const ip = parseIp(peer);
    if (ip === undefined) throw new VeenError("E.AUTH", `Peer address "${peer}" is not an IP address`);
    const denied = this.deny.find((b) => cidrContains(b, ip));
    if (denied !== undefined) {
      throw new VeenError("E.AUTH", `Peer ${peer} is denied (ip_deny ${denied.text})`);
    }
    if (this.allow.length > 0 && !this.allow.some((b) => cidrContains(b, ip))) {
      throw new VeenError("E.AUTH", `Peer ${peer} is not in ip_allow`);
    }
  }
}
