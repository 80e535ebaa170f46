/** Reads docs/grafana-dashboard.json for the tests that keep it honest. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: this file runs from dist/e2e/lib/. */
const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The dashboard file, relative to the repository root. */
export const DASHBOARD_PATH = "docs/grafana-dashboard.json";

/** A Grafana datasource reference. */
export interface DatasourceRef {
  type?: string;
  uid?: string;
}

/** The parts of a Grafana panel the tests look at. */
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: DatasourceRef;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr?: string; datasource?: DatasourceRef }[];
  panels?: Panel[];
}

/** The parts of a Grafana dashboard the tests look at. */
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; datasource?: DatasourceRef }[] };
}

/** Parses the dashboard file. */
export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(join(root, DASHBOARD_PATH), "utf8")) as Dashboard;
}

/** Every panel, rows included, with those nested in collapsed rows. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL expression with the panel it belongs to. */
export function panelExpressions(d: Dashboard): { panel: Panel; expr: string }[] {
  return allPanels(d).flatMap((panel) => (panel.targets ?? []).filter((t) => t.expr).map((t) => ({ panel, expr: t.expr! })));
}

/** The query of every query variable, as PromQL-ish text (label_values(...)). */
export function variableQueries(d: Dashboard): string[] {
  return d.templating.list.filter((v) => v.type === "query").map((v) => (typeof v.query === "string" ? v.query : (v.query as { query: string }).query));
}

/** An expression with Grafana's variables replaced, ready for Prometheus's query API. */
export function withVariables(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__interval", "15s")
    .replaceAll("$__range", "1h")
    .replaceAll(/\$\{?(job|instance)\}?/g, ".*");
}
