/** veen_submit_class_total: one series per label class, `unset` for unclassified labels, bounded cardinality. */
import assert from "node:assert/strict";
import { MAX_CLASS_SERIES, Metrics } from "./metrics.ts";

Deno.test("veen_submit_class_total counts per class; odd names and classes past the bound are counted as other", () => {
  const m = new Metrics();
  m.countClass(undefined);
  m.countClass("bulk");
  m.countClass("bulk");
  m.countClass('x"} 1\nveen_fake 2');
  const text = m.render();
  assert.match(text, /^veen_submit_class_total\{class="unset"\} 1$/m);
  assert.match(text, /^veen_submit_class_total\{class="bulk"\} 2$/m);
  assert.match(text, /^veen_submit_class_total\{class="other"\} 1$/m);
  assert.doesNotMatch(text, /veen_fake/);
  for (let i = 0; i < 2 * MAX_CLASS_SERIES; i++) m.countClass(`c${i}`);
  assert.ok(m.submitClass.size <= MAX_CLASS_SERIES + 1, `${m.submitClass.size} series`);
  m.countClass("bulk");
  assert.equal(m.submitClass.get("bulk"), 3, "a class counted before the bound keeps its series");
});

Deno.test("veen_appends_total is bounded per label prefix", () => {
  const m = new Metrics();
  m.countAppends("ab".repeat(32), 2);
  for (let i = 0; i < 2 * MAX_CLASS_SERIES; i++) m.countAppends(i.toString(16).padEnd(64, "0"));
  const text = m.render();
  assert.match(text, new RegExp(`^veen_appends_total\\{label="${"ab".repeat(8)}"\\} 2$`, "m"));
  assert.ok(m.appends.size <= MAX_CLASS_SERIES + 1);
  assert.match(text, /^veen_appends_total\{label="other"\} \d+$/m);
});
