// The audit trail: the tenant's records oldest first, filtered by exact values, paged forward
// with the API's cursor; filters and the cursor live in the URL so a view can be linked.
import { get, h, showError } from "./api.js";

const FILTERS = ["action", "actor", "resource_type", "resource_id"];
const params = new URLSearchParams(location.search);
const size = Math.min(500, Math.max(1, Number(params.get("limit")) || 50));

const body = document.querySelector("#audit tbody");
const error = document.getElementById("audit-error");
const first = document.getElementById("page-first");
const next = document.getElementById("page-next");

function go(changes) {
  const query = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value) query.set(key, value);
    else query.delete(key);
  }
  location.search = query.toString();
}

// What a reader needs of a record's detail in one line: the decision and the refusal first.
function summary(detail) {
  const parts = [];
  if (detail.decision) parts.push(`decision: ${detail.decision}`);
  if (detail.approvers) parts.push(`approvers: ${detail.approvers.join(", ")}`);
  if (detail.interrupts?.length) parts.push(`interrupt: ${detail.interrupts.join(", ")}`);
  if (detail.reason) parts.push(detail.reason);
  if (detail.thread_id) parts.push(`thread: ${detail.thread_id}`);
  return parts.join(" · ");
}

function row(record) {
  const who = record.actor_role ? `${record.actor} (${record.actor_role})` : record.actor;
  return h(
    "tr",
    { "data-seq": record.seq, "data-action": record.action },
    h("td", {}, String(record.seq)),
    h("td", {}, record.at.replace("T", " ").replace("Z", "")),
    h("td", { "data-field": "actor" }, who),
    h("td", { "data-field": "action" }, record.action),
    h("td", {}, `${record.resource_type} `, h("code", {}, record.resource_id ?? "")),
    h(
      "td",
      { class: record.outcome === "denied" ? "status error" : "", "data-field": "outcome" },
      record.outcome,
    ),
    h("td", { "data-field": "detail", title: JSON.stringify(record.detail) }, summary(record.detail)),
    h(
      "td",
      { title: `${record.hash} (previous ${record.prev_hash})` },
      h("code", {}, record.hash.slice(0, 12)),
    ),
  );
}

async function load() {
  const query = new URLSearchParams({ limit: String(size) });
  for (const name of FILTERS) {
    const value = params.get(name);
    document.querySelector(`[name="${name}"]`).value = value ?? "";
    if (value) query.set(name, value);
  }
  if (params.get("after")) query.set("after", params.get("after"));
  try {
    const page = await get(`/audit?${query}`);
    body.replaceChildren(...page.records.map(row));
    document.getElementById("audit-empty").hidden = page.records.length > 0;
    document.getElementById("audit-count").textContent = `(${page.records.length} shown)`;
    first.disabled = !params.get("after");
    next.disabled = !page.next;
    next.onclick = () => go({ after: page.next });
  } catch (exc) {
    showError(error, exc);
  }
}

document.getElementById("audit-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  go({ ...Object.fromEntries(FILTERS.map((name) => [name, form.get(name)])), after: "" });
});
first.addEventListener("click", () => go({ after: "" }));
load();
