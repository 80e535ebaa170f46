import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { allPanels, DASHBOARD_PATH, loadDashboard, panelExpressions, variableQueries } from "../e2e/lib/grafana-dashboard.js";
import { METRIC_NAMES, METRIC_TYPES } from "./metrics.js";

const dashboard = loadDashboard();
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

/** The metric a series name belongs to: a histogram's _bucket/_sum/_count map to its base name. */
function metricOf(series: string): string | undefined {
  if (series in METRIC_TYPES) return series;
  const base = series.replace(HISTOGRAM_SERIES, "");
  return base !== series && METRIC_TYPES[base as keyof typeof METRIC_TYPES] === "histogram" ? base : undefined;
}

describe(`the Grafana dashboard (${DASHBOARD_PATH})`, () => {
  test("is a schemaVersion 39 dashboard with a Prometheus datasource variable", () => {
    assert.equal(dashboard.schemaVersion, 39);
    assert.equal(dashboard.uid, "tessera");
    const ds = dashboard.templating.list.find((v) => v.name === "datasource");
    assert.deepEqual(ds && { type: ds.type, query: ds.query }, { type: "datasource", query: "prometheus" });
  });

  test("has the rows Overview, Relay, Fallback, Control & input, Auth & signaling, Host, Frame devices, Cluster, Limits, in that order", () => {
    const rows = dashboard.panels.filter((p) => p.type === "row").map((p) => p.title);
    assert.deepEqual(rows, [
      "Overview",
      "Relay",
      "Fallback",
      "Control & input",
      "Auth & signaling",
      "Host",
      "Frame devices, WHIP/WHEP, snapshots",
      "Cluster (--redis)",
      "Limits (--limit)",
    ]);
    assert.equal(dashboard.panels[0].type, "row", "every panel sits under a row");
  });

  test("every panel, target and query variable queries the chosen Prometheus datasource", () => {
    for (const p of allPanels(dashboard)) {
      if (p.type === "row") continue; // rows query nothing
      assert.deepEqual(p.datasource, DATASOURCE, `panel "${p.title}"`);
      assert.ok(p.targets?.length, `panel "${p.title}" has queries`);
      for (const t of p.targets) assert.deepEqual(t.datasource ?? DATASOURCE, DATASOURCE, `panel "${p.title}" target ${t.refId}`);
    }
    for (const v of dashboard.templating.list.filter((v) => v.type === "query")) assert.deepEqual(v.datasource, DATASOURCE, `variable ${v.name}`);
  });

  test("panel ids are unique and panels fit the 24-column grid without overlapping", () => {
    const panels = allPanels(dashboard);
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length);
    const taken = new Set<string>();
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24, `panel "${p.title}" fits the width`);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          assert.ok(!taken.has(`${i},${j}`), `panel "${p.title}" overlaps another at ${i},${j}`);
          taken.add(`${i},${j}`);
        }
    }
  });

  test("references only metrics in METRIC_NAMES", () => {
    const exprs = [...panelExpressions(dashboard).map((e) => e.expr), ...variableQueries(dashboard)];
    assert.ok(exprs.length > 0);
    for (const expr of exprs) {
      const names = expr.match(/\btessera_[a-z0-9_]+/g) ?? [];
      assert.ok(names.length > 0, `${expr} queries a Tessera metric`);
      for (const name of names) assert.ok(metricOf(name), `${name} (in ${expr}) is not in METRIC_NAMES`);
    }
  });

  test("has a panel for every metric in METRIC_NAMES", () => {
    const used = new Set(panelExpressions(dashboard).flatMap((e) => (e.expr.match(/\btessera_[a-z0-9_]+/g) ?? []).map(metricOf)));
    assert.deepEqual(
      METRIC_NAMES.filter((n) => !used.has(n)),
      [],
    );
  });

  test("counters are only read through rate() or increase(); histograms through their buckets, sum and count", () => {
    for (const { panel, expr } of panelExpressions(dashboard)) {
      for (const m of expr.matchAll(/\btessera_[a-z0-9_]+/g)) {
        const name = m[0];
        const type = METRIC_TYPES[metricOf(name) as keyof typeof METRIC_TYPES];
        if (type === "histogram") assert.match(name, HISTOGRAM_SERIES, `panel "${panel.title}": ${name}`);
        if (type === "counter" || type === "histogram") {
          const before = expr.slice(0, m.index);
          assert.match(before, /(rate|increase)\($/, `panel "${panel.title}": ${name} is a counter: rate() or increase() it`);
        }
      }
    }
  });
});
