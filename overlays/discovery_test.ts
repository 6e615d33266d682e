import assert from "node:assert/strict";
import { H, toHex, utf8 } from "../core/mod.ts";
import {
  DISC,
  DISC_MAX_RESULTS,
  discFold,
  discQuery,
  discStreamName,
  overlayIdOf,
  serviceIdOf,
} from "./discovery.ts";
import { checkMergeLaws, entry, sequence } from "./testing/laws.ts";

const ALICE = new Uint8Array(32).fill(1);
const MALLORY = new Uint8Array(32).fill(2);
const rpcOverlay = overlayIdOf("rpc", "v1");

const serviceAd = (name: string, ttl = 60, tags: string[] = []) =>
  DISC.service.advertise.encode({
    service_id: serviceIdOf(name, rpcOverlay),
    name,
    overlay_id: rpcOverlay,
    methods: ["add"],
    stream_ids: [H(utf8("svc"))],
    regions: ["eu"],
    required_caps: [],
    tags,
    ttl_sec: ttl,
  });
const serviceRetire = (name: string) =>
  DISC.service.retire.encode({ service_id: serviceIdOf(name, rpcOverlay) });
const ad = (name: string, ttl = 60, by = ALICE) => (seq: number) =>
  entry(seq, DISC.service.advertise.schemaId, serviceAd(name, ttl), by);
const retire = (name: string, by = ALICE) => (seq: number) =>
  entry(seq, DISC.service.retire.schemaId, serviceRetire(name), by);

function foldAll(entries: ReturnType<typeof entry>[]) {
  const f = discFold("service");
  const s = f.empty();
  const results = entries.map((e) => f.apply(s, e));
  return { s, results };
}

Deno.test("discovery ids and stream names are the overlay decisions' derivations", () => {
  assert.deepEqual(overlayIdOf("rpc", "v1"), H(utf8("disc/overlay"), new Uint8Array([0]), utf8("rpcv1")));
  assert.equal(discStreamName("hub"), toHex(H(utf8("disc.hubs.v1"))));
  assert.deepEqual(DISC.hub.advertise.schemaId, H(utf8("disc.hub.advertise.v1")));
});

Deno.test("an advertisement expires at its RECEIPT hub_ts + ttl_sec", () => {
  const { s } = foldAll(sequence([ad("calc", 60)])); // hub_ts 1001
  assert.equal(discQuery("service", s, {}, 1060).results.length, 1);
  assert.equal(discQuery("service", s, {}, 1061).results.length, 0);
});

Deno.test("retire hides an entry, a later advertise revives it; a stranger's retire is ignored", () => {
  const { s: retired } = foldAll(sequence([ad("calc"), retire("calc")]));
  assert.equal(discQuery("service", retired, {}, 1010).results.length, 0);
  const { s: revived } = foldAll(sequence([ad("calc"), retire("calc"), ad("calc")]));
  const r = discQuery("service", revived, {}, 1010).results;
  assert.equal(r.length, 1);
  assert.equal(r[0]!.seq, 3);
  const { s: stranger } = foldAll(sequence([ad("calc"), retire("calc", MALLORY)]));
  assert.equal(discQuery("service", stranger, {}, 1010).results.length, 1);
});

Deno.test("a service_id that is not Ht(disc/service, name || overlay_id) is rejected", () => {
  const body = DISC.service.advertise.encode({
    ...DISC.service.advertise.decode(serviceAd("calc")),
    service_id: new Uint8Array(32),
  });
  const { results } = foldAll([entry(1, DISC.service.advertise.schemaId, body, ALICE)]);
  assert.deepEqual(results, ["rejected"]);
});

Deno.test("queries filter per §6.1 and return at most 100 results with more = true", () => {
  const many = Array.from({ length: 130 }, (_, i) => ad(`svc-${String(i).padStart(3, "0")}`, 600));
  const { s } = foldAll(sequence(many));
  const first = discQuery("service", s, {}, 1100, { limit: 1000 });
  assert.equal(first.results.length, DISC_MAX_RESULTS);
  assert.equal(first.more, true);
  const rest = discQuery("service", s, {}, 1100, { offset: 100 });
  assert.equal(rest.results.length, 30);
  assert.equal(rest.more, false);
  assert.equal(discQuery("service", s, { name_prefix: "svc-12" }, 1100).results.length, 10);
  assert.equal(discQuery("service", s, { method: "sub" }, 1100).results.length, 0);
  assert.equal(discQuery("service", s, { region: "eu", overlay_id: rpcOverlay }, 1100).results.length, 100);
});

Deno.test("the discovery fold's summaries merge associatively (resumable)", () => {
  const entries = sequence([
    retire("a", MALLORY),
    ad("a"),
    retire("b"),
    ad("b", 5),
    retire("a", MALLORY),
    retire("a"),
    ad("c"),
    retire("c"),
    ad("a", 90, MALLORY),
    retire("c"),
    ad("c", 30),
    retire("b", MALLORY),
  ]);
  checkMergeLaws(discFold("service"), entries, 7);
});
