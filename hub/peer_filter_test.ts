import assert from "node:assert/strict";
import { VeenError } from "../core/mod.ts";
import { cidrContains, parseCidr, parseIp, PeerFilter } from "./peer_filter.ts";

const refused = (f: PeerFilter, peer: string) =>
  assert.throws(() => f.check(peer), (e) => e instanceof VeenError && e.code === "E.AUTH", peer);

Deno.test("parseIp reads IPv4, IPv6 (compressed, bracketed, with an IPv4 tail) and maps ::ffff:a.b.c.d", () => {
  assert.deepEqual(parseIp("10.1.2.3"), new Uint8Array([10, 1, 2, 3]));
  assert.deepEqual(parseIp("::ffff:10.1.2.3"), new Uint8Array([10, 1, 2, 3]));
  assert.deepEqual(parseIp("[::1]"), new Uint8Array([...new Array(15).fill(0), 1]));
  assert.deepEqual(parseIp("2001:db8::"), new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)]));
  assert.deepEqual(parseIp("1:2:3:4:5:6:7:8")![15], 8);
  for (
    const bad of ["", "1.2.3", "1.2.3.256", "01.2.3.4", "1::2::3", "1:2:3:4:5:6:7:8:9", "g::1", "localhost"]
  ) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

Deno.test("CIDR edges: the first and last address of a block match, their neighbours do not", () => {
  const v4 = parseCidr("192.168.4.0/22");
  assert.ok(cidrContains(v4, parseIp("192.168.4.0")!));
  assert.ok(cidrContains(v4, parseIp("192.168.7.255")!));
  assert.ok(!cidrContains(v4, parseIp("192.168.3.255")!));
  assert.ok(!cidrContains(v4, parseIp("192.168.8.0")!));
  const v6 = parseCidr("2001:db8::/33");
  assert.ok(cidrContains(v6, parseIp("2001:db8:7fff:ffff::1")!));
  assert.ok(!cidrContains(v6, parseIp("2001:db8:8000::")!));
  assert.ok(cidrContains(parseCidr("0.0.0.0/0"), parseIp("255.255.255.255")!));
  assert.ok(!cidrContains(parseCidr("0.0.0.0/0"), parseIp("::1")!), "an IPv4 block never holds IPv6 peers");
  assert.ok(cidrContains(parseCidr("10.0.0.1"), parseIp("10.0.0.1")!));
  assert.ok(!cidrContains(parseCidr("10.0.0.1"), parseIp("10.0.0.2")!));
  assert.deepEqual(parseCidr("::ffff:10.0.0.0/104"), {
    ...parseCidr("10.0.0.0/8"),
    text: "::ffff:10.0.0.0/104",
  });
  for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/8/1", "10.0.0.0/-1", "x/8", ""]) {
    assert.throws(() => parseCidr(bad), RangeError, bad);
  }
});

Deno.test("PeerFilter: deny wins over allow; an allow list refuses everyone else; empty lists allow all", () => {
  new PeerFilter([], []).check("203.0.113.9");
  const f = new PeerFilter(["127.0.0.0/8", "::1"], ["127.0.0.2/32"]);
  f.check("127.0.0.1");
  f.check("::1");
  f.check("::ffff:127.0.0.1");
  refused(f, "127.0.0.2");
  refused(f, "::ffff:127.0.0.2");
  refused(f, "128.0.0.1");
  refused(f, "::2");
  refused(f, "not-an-ip");
  const denyOnly = new PeerFilter([], ["10.0.0.0/8", "fd00::/8"]);
  denyOnly.check("11.0.0.0");
  denyOnly.check("fe00::1");
  refused(denyOnly, "10.255.255.255");
  refused(denyOnly, "fdff::1");
});
