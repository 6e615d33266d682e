import assert from "node:assert/strict";
import { STAGE_NAMES } from "../../hub/admission_stages.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";
import { runCli } from "../testing/run.ts";

Deno.test("hub admission lists the four stages; hub admission-log lists refusals by code, newest last", async () => {
  await withRealHub({ config: { stage2QueueMax: 5 } }, async (hub) => {
    const post = (body: Uint8Array) =>
      fetch(`${hub.url}/submit`, { method: "POST", body: body as BodyInit }).then((r) => r.arrayBuffer());
    await post(new Uint8Array([0xff]));
    await post(new Uint8Array([0x8a, 0x00]));
    const a = ok(await runCli(["hub", "admission", "--hub", hub.url, "--json"])).json();
    const stages = a.stages as Record<string, unknown>[];
    assert.deepEqual(stages.map((s) => s.name), [...STAGE_NAMES]);
    for (const s of stages) {
      assert.deepEqual(Object.keys(s), [
        "name",
        "enabled",
        "responsibilities",
        "queue_depth",
        "max_queue_depth",
        "recent_err_rates",
      ]);
    }
    assert.equal(stages[2]!.max_queue_depth, 5);
    assert.equal((stages[1]!.recent_err_rates as Record<string, unknown>)["E.SIZE"], 1);
    const text = ok(await runCli(["hub", "admission", "--hub", hub.url]));
    assert.match(text.stdout, /^stage: stage1-structure\n {2}enabled: true\n {2}queue_depth: 0 \(max 0\)\n/m);
    assert.match(text.stdout, /recent_err_rates: E\.SIZE 1, E\.SIG 0, E\.AUTH 0, E\.CAP 0, E\.RATE 0/);

    const log = ok(await runCli(["hub", "admission-log", "--hub", hub.url, "--json"])).json();
    const events = log.events as Record<string, unknown>[];
    assert.equal(events.length, 2);
    assert.deepEqual(Object.keys(events[0]!), [
      "ts",
      "code",
      "stage",
      "label_prefix",
      "client_id_prefix",
      "detail",
    ]);
    assert.equal(events[0]!.code, "E.SIZE");
    assert.equal(events[0]!.stage, "stage1-structure");
    assert.equal(events[0]!.client_id_prefix, null);
    const one = ok(await runCli(["hub", "admission-log", "--hub", hub.url, "--limit", "1", "--json"])).json();
    assert.deepEqual(one.events, [events[1]]);
    const none = ok(await runCli(["hub", "admission-log", "--hub", hub.url, "--codes", "E.SIG,E.AUTH"]));
    assert.equal(none.stdout, "no refused submissions\n");
    const human = ok(await runCli(["hub", "admission-log", "--hub", hub.url, "--codes", "E.SIZE"]));
    assert.match(
      human.stdout,
      /^ts: \d+ code: E\.SIZE stage: stage1-structure label_prefix: - client_id_prefix: -/,
    );
    assert.equal((await runCli(["hub", "admission-log", "--hub", hub.url, "--codes", "size"])).code, 1);
    assert.equal((await runCli(["hub", "admission-log", "--hub", hub.url, "--limit", "0"])).code, 1);
  });
});
