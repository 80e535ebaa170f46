import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { METRIC_NAMES, METRIC_TYPES, Metrics } from "./metrics.js";

/** Name → type of everything a registry exposes. */
async function exposed(m: Metrics): Promise<Map<string, string>> {
  return new Map((await m.registry.getMetricsAsJSON()).map((x) => [x.name, String(x.type)]));
}

describe("METRIC_NAMES", () => {
  test("lists every metric Tessera defines, with its type", async () => {
    const own = await exposed(new Metrics({ defaultMetrics: false }));
    assert.ok(own.size > 0);
    for (const [name, type] of own) {
      assert.ok(METRIC_NAMES.includes(name as never), `${name} is missing from METRIC_NAMES`);
      assert.equal(METRIC_TYPES[name as keyof typeof METRIC_TYPES], type, `${name}'s type`);
    }
  });

  test("the prom-client defaults it lists are exposed, with their types", async () => {
    const all = await exposed(new Metrics());
    const defaults = METRIC_NAMES.filter((n) => /^tessera_(process|nodejs)_/.test(n));
    assert.ok(defaults.length > 0);
    for (const name of defaults) assert.equal(all.get(name), METRIC_TYPES[name], name);
  });

  test("no gauge is named like a counter", async () => {
    for (const [name, type] of await exposed(new Metrics())) if (name.endsWith("_total")) assert.equal(type, "counter", name);
  });
});
