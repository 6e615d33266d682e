/**
 * The alert rules and dashboard in compile/ are the bytes ops/observability.ts builds (refresh them with
 * VEEN_UPDATE_GOLDEN=1), and are well formed: every rule has an expression, a duration, a severity and a summary;
 * the dashboard's panels each have queries with distinct refIds.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { alertRulesYaml, dashboardJson } from "./observability.ts";

const ROOT = new URL("../compile/", import.meta.url);

async function same(name: string, text: string): Promise<void> {
  const path = new URL(name, ROOT);
  if (Deno.env.get("VEEN_UPDATE_GOLDEN") === "1") await Deno.writeTextFile(path, text);
  assert.equal(await Deno.readTextFile(path), text, `compile/${name} differs from ops/observability.ts`);
}

Deno.test("compile/veen-alerts.yaml and compile/veen-hub-dashboard.json are generated and well formed", async () => {
  await same("veen-alerts.yaml", alertRulesYaml());
  await same("veen-hub-dashboard.json", dashboardJson());
  const rules = parse(alertRulesYaml()).groups[0].rules;
  assert.ok(rules.length >= 8);
  for (const r of rules) {
    assert.match(r.alert, /^Veen[A-Za-z]+$/);
    assert.ok(r.expr.length > 0 && /^\d+[smh]$/.test(r.for), r.alert);
    assert.ok(["critical", "warning"].includes(r.labels.severity), r.alert);
    assert.ok(r.annotations.summary.length > 0, r.alert);
  }
  const dash = JSON.parse(dashboardJson());
  assert.equal(dash.uid, "veen-hub");
  for (const p of dash.panels) {
    const refs = p.targets.map((t: { refId: string }) => t.refId);
    assert.equal(new Set(refs).size, refs.length, p.title);
  }
});
