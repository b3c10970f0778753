// Outcome metrics: per workflow, threads by status, approvals waiting (and the oldest wait)
// and exceptions; runs by status, the queue and duration percentiles from /metrics.
import { age, getText, h, post, showError } from "./api.js";

const error = document.getElementById("metrics-error");
const STATUSES = ["idle", "busy", "interrupted", "error"];

const bar = (value, max) =>
  h("span", { class: "bar", style: `width: ${max ? Math.round((100 * value) / max) : 0}%` });

async function workflows() {
  const assistants = await post("/assistants/search", { limit: 100 });
  const graphs = [...new Set(assistants.map((a) => a.graph_id))].sort();
  const waiting = await post("/threads/search", {
    status: "interrupted",
    sort_by: "updated_at",
    sort_order: "asc",
    limit: 1000,
  });
  const rows = await Promise.all(
    graphs.map(async (graph) => {
      const metadata = { graph_id: graph };
      const counts = await Promise.all(
        STATUSES.map((status) => post("/threads/count", { status, metadata })),
      );
      const [idle, busy, interrupted, errors] = counts;
      const total = counts.reduce((a, b) => a + b, 0);
      const oldest = waiting.find((t) => t.metadata?.graph_id === graph);
      return h(
        "tr",
        { "data-graph": graph },
        h("th", { scope: "row" }, graph),
        h("td", { "data-measure": "threads" }, String(total)),
        h("td", { "data-measure": "idle" }, String(idle)),
        h("td", { "data-measure": "busy" }, String(busy)),
        h("td", { "data-measure": "interrupted" }, String(interrupted)),
        h("td", { "data-measure": "oldest" }, oldest ? age(oldest.updated_at) : ""),
        h("td", { "data-measure": "error" }, String(errors)),
        h(
          "td",
          { "data-measure": "exception-rate" },
          total ? `${((100 * errors) / total).toFixed(1)} %` : "",
        ),
      );
    }),
  );
  document.querySelector("#workflows tbody").replaceChildren(...rows);
}

// Prometheus text format: `name{label="v"} value` lines (comments skipped).
function parse(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    const match = line.match(/^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...(match[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    samples.push({ name: match[1], labels, value: Number(match[4]) });
  }
  return samples;
}

// A percentile from cumulative histogram buckets: the upper bound of the bucket it falls in.
function percentile(buckets, count, q) {
  const wanted = q * count;
  const hit = buckets.find((b) => b.value >= wanted);
  return hit ? hit.labels.le : "?";
}

async function runs() {
  const samples = parse(await getText("/metrics"));
  const byStatus = samples.filter((s) => s.name === "agent_ops_runs");
  const max = Math.max(0, ...byStatus.map((s) => s.value));
  const rows = byStatus.map((s) =>
    h(
      "tr",
      { "data-measure": `runs-${s.labels.status}` },
      h("th", { scope: "row" }, `runs ${s.labels.status}`),
      h("td", {}, String(s.value)),
      h("td", {}, bar(s.value, max)),
    ),
  );
  const one = (name) => samples.find((s) => s.name === name)?.value;
  const count = one("agent_ops_run_duration_seconds_count") ?? 0;
  const buckets = samples
    .filter((s) => s.name === "agent_ops_run_duration_seconds_bucket")
    .sort((a, b) => Number(a.labels.le) - Number(b.labels.le));
  const plain = [
    ["queue depth", one("agent_ops_queue_depth")],
    ["oldest pending (s)", one("agent_ops_queue_oldest_pending_seconds")],
    ["workers", one("agent_ops_workers")],
    ["runs finished here", count],
    ["duration p50 (s, at most)", count ? percentile(buckets, count, 0.5) : ""],
    ["duration p95 (s, at most)", count ? percentile(buckets, count, 0.95) : ""],
  ];
  rows.push(
    ...plain.map(([label, value]) =>
      h(
        "tr",
        { "data-measure": label.split(" ").slice(0, 2).join("-") },
        h("th", { scope: "row" }, label),
        h("td", {}, value === undefined ? "" : String(value)),
        h("td"),
      ),
    ),
  );
  document.querySelector("#runs tbody").replaceChildren(...rows);
}

Promise.all([workflows(), runs()]).catch((exc) => showError(error, exc));
