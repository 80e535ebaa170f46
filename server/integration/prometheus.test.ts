import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { loadDashboard, panelExpressions, variableQueries, withVariables } from "../../e2e/lib/grafana-dashboard.js";
import { promtoolCheckMetrics, startPrometheus, type Prometheus } from "../../e2e/lib/prometheus.js";
import { waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { WeriftViewer } from "../../e2e/lib/werift-peers.js";
import { startServer, type Running } from "./fixture.js";

const TOKEN = "tessera-metrics-test-token";

describe("a real Prometheus scraping /metrics", () => {
  let server: Running;
  let prometheus: Prometheus;
  let viewer: WeriftViewer;

  before(async () => {
    server = await startServer({ source: [{ kind: "test" }], metricsToken: TOKEN });
    const target = new URL(server.httpUrl).host;
    // Prometheus starts while the viewer connects: both take a second or two.
    [prometheus, viewer] = await Promise.all([
      startPrometheus([
        { name: "tessera", target, token: TOKEN },
        { name: "wrong_token", target, token: "not-the-token" },
        { name: "no_token", target },
      ]),
      WeriftViewer.connect(server.wsUrl),
    ]);
    viewer.watch("test");
    const stream = await waitFor(() => viewer.streams.get("test"), 10_000, "offer");
    await waitFor(() => stream.videoPackets > 0, 10_000, "video at the viewer");
  });

  after(async () => {
    await viewer?.close();
    await prometheus?.stop();
    await server?.stop();
  });

  /** Polls an instant query until its one sample satisfies `ok`; returns that value. */
  async function until(promql: string, ok: (v: number) => boolean, timeoutMs = 10_000): Promise<number> {
    let last: number | undefined;
    await waitForAsync(
      async () => {
        const samples = await prometheus.query(promql);
        assert.ok(samples.length <= 1, `${promql}: one sample expected, got ${samples.length}`);
        last = samples[0]?.value;
        return last !== undefined && ok(last);
      },
      timeoutMs,
      `${promql} (last value ${last})`,
    );
    return last!;
  }

  test("Prometheus sees forwarded packets, viewers and the online device", async () => {
    // Prometheus 2.42 hands new targets to its scrapers on a fixed 5 s tick, so
    // the first scrape comes about 6 s after start whatever scrape_interval says.
    const out = await until('sum(tessera_rtp_packets_total{job="tessera",direction="out"})', (v) => v > 0, 20_000);
    assert.ok(out > 0);
    assert.ok((await until('sum(tessera_viewers{job="tessera"})', (v) => v > 0)) >= 1);
    assert.equal(await until('tessera_devices_online{job="tessera"}', (v) => v > 0), 1);
    // The rate over scrapes too: two scrapes with traffic in the window. Scrapes are 1 s
    // apart when the machine is idle; a loaded one delays them (once, a [5s] window
    // held fewer than two samples for 10 s), so the window and the wait are wider.
    await until('sum(rate(tessera_rtp_payload_bytes_total{job="tessera",direction="in"}[15s]))', (v) => v > 0, 20_000);
  });

  test("with --metrics-token, only the job with the right bearer token scrapes", async () => {
    assert.equal(await until('up{job="tessera"}', (v) => v === 1), 1);
    assert.equal(await until('up{job="wrong_token"}', () => true), 0);
    assert.equal(await until('up{job="no_token"}', () => true), 0);
    const refused = await prometheus.query('tessera_devices_online{job=~"wrong_token|no_token"}');
    assert.deepEqual(refused, [], "nothing was scraped without the token");
    const res = await fetch(`${prometheus.url}/api/v1/targets?state=active`);
    const { data } = (await res.json()) as { data: { activeTargets: { labels: { job: string }; lastError: string }[] } };
    for (const t of data.activeTargets.filter((t) => t.labels.job !== "tessera"))
      assert.match(t.lastError, /401 Unauthorized/, `${t.labels.job}: the scrape error names the 401`);
  });

  test("promtool check metrics finds no problem in the exposition", async () => {
    const res = await fetch(`${server.httpUrl}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /tessera_rtp_packets_total\{direction="out",kind="video"\} [1-9]/, "checked with traffic in it");
    const { status, output } = await promtoolCheckMetrics(text);
    assert.equal(output.trim(), "", "promtool reported nothing");
    assert.equal(status, 0);
  });

  test("every expression of the Grafana dashboard is valid PromQL, and the relay's panels show data", async () => {
    const dashboard = loadDashboard();
    const withData = new Set(["Devices online", "Viewers", "Bitrate out", "Media bitrate", "RTP packets", "Forward latency"]);
    await until('count_over_time(up{job="tessera"}[1m])', (v) => v >= 2); // rate() needs two scrapes
    for (const { panel, expr } of panelExpressions(dashboard)) {
      const samples = await prometheus.query(withVariables(expr)); // throws on a PromQL error
      if (withData.has(panel.title)) assert.ok(samples.length > 0, `panel "${panel.title}": ${expr} returned nothing`);
    }
    for (const q of variableQueries(dashboard)) {
      // label_values(m, l) is Grafana's, not PromQL: ask for the series instead.
      const series = /^label_values\((.+), (\w+)\)$/.exec(q)?.[1];
      assert.ok(series, `variable query ${q}`);
      assert.ok((await prometheus.query(withVariables(series))).length > 0, q);
    }
  });
});
