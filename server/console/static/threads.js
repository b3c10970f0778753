// The threads list: newest first, filtered by status, assistant (graph), metadata and creation
// date, paged; the filter and page live in the URL so a view can be linked.
import { age, byIds, h, post, showError } from "./api.js";

const root = document.body.dataset.api || "";
const params = new URLSearchParams(location.search);
const size = Math.max(1, Number(params.get("limit")) || 20);
const page = Math.max(0, Number(params.get("page")) || 0);
// The filters, each read from the URL ("" when unset) and from its own field of the form.
const FILTERS = ["status", "graph", "meta", "from", "to"];
const [status, graph, meta, from, to] = FILTERS.map((name) => params.get(name) || "");

const body = document.querySelector("#threads tbody");
const [error, prev, next] = byIds("threads-error", "page-prev", "page-next");
const [statusPicker, graphPicker, metaInput, fromInput, toInput] = byIds(
  ...FILTERS.map((name) => `filter-${name}`),
);

function go(changes) {
  const query = new URLSearchParams({
    status,
    graph,
    meta,
    from,
    to,
    page: String(page),
    limit: String(size),
    ...changes,
  });
  for (const [key, value] of [...query])
    if (!value || (key === "page" && value === "0")) query.delete(key);
  location.search = query.toString();
}

function row(thread) {
  const meta = thread.metadata ?? {};
  return h(
    "tr",
    { "data-thread-id": thread.thread_id },
    h(
      "td",
      {},
      h(
        "a",
        { href: `${root}/console/threads/${encodeURIComponent(thread.thread_id)}` },
        h("code", {}, thread.thread_id),
      ),
    ),
    h("td", {}, meta.graph_id ?? ""),
    h("td", { class: `status ${thread.status}` }, thread.status),
    h("td", { title: thread.updated_at }, `${age(thread.updated_at)} ago`),
    h("td", { title: thread.created_at }, new Date(thread.created_at).toLocaleString()),
  );
}

// "key=value, key=value": each value as JSON when it reads as JSON (7, true), else as text.
function metadataFilter(text) {
  const found = {};
  for (const pair of text.split(",")) {
    if (!pair.trim()) continue;
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`metadata filter: ${JSON.stringify(pair.trim())} is not key=value`);
    const value = pair.slice(at + 1).trim();
    try {
      found[pair.slice(0, at).trim()] = JSON.parse(value);
    } catch {
      found[pair.slice(0, at).trim()] = value;
    }
  }
  return found;
}

// `/threads/search` has no date filter: with one set, the list reads the threads newest-created
// first, 100 at a time, and keeps those created in the range (days in the browser's time zone,
// both ends included), stopping at the first one created before it, or after SCAN_LIMIT.
const SCAN_LIMIT = 2000;
const BATCH = 100;

async function scanByDate(filters) {
  const start = from ? new Date(`${from}T00:00`).getTime() : -Infinity;
  const end = to ? new Date(`${to}T00:00`).getTime() + 86_400_000 : Infinity;
  const kept = [];
  for (let offset = 0; offset < SCAN_LIMIT; offset += BATCH) {
    const batch = await post("/threads/search", {
      ...filters,
      limit: BATCH,
      offset,
      sort_by: "created_at",
      sort_order: "desc",
    });
    for (const thread of batch) {
      const created = Date.parse(thread.created_at);
      if (created < start) return { kept, capped: false };
      if (created < end) kept.push(thread);
    }
    if (batch.length < BATCH) return { kept, capped: false };
  }
  return { kept, capped: true };
}

async function search(filters) {
  if (!from && !to) {
    return Promise.all([
      post("/threads/search", {
        ...filters,
        limit: size,
        offset: page * size,
        sort_by: "updated_at",
        sort_order: "desc",
      }),
      post("/threads/count", filters),
    ]);
  }
  const { kept, capped } = await scanByDate(filters);
  const note = document.getElementById("threads-scan");
  note.hidden = false;
  note.textContent = capped
    ? `Newest created first; only the ${SCAN_LIMIT} newest threads were searched for the dates.`
    : "Newest created first.";
  return [kept.slice(page * size, (page + 1) * size), kept.length];
}

async function load() {
  statusPicker.value = status;
  metaInput.value = meta;
  fromInput.value = from;
  toInput.value = to;
  if (from && to && from > to) {
    showError(error, `created from ${from} is after created to ${to}: no thread can match`);
    return;
  }
  const filters = {};
  if (status) filters.status = status;
  try {
    const metadata = { ...metadataFilter(meta), ...(graph ? { graph_id: graph } : {}) };
    if (Object.keys(metadata).length) filters.metadata = metadata;
  } catch (exc) {
    showError(error, exc);
    return;
  }
  try {
    const assistants = await post("/assistants/search", { limit: 100 });
    const graphs = [...new Set(assistants.map((a) => a.graph_id))].sort();
    graphPicker.append(...graphs.map((g) => h("option", { value: g }, g)));
    graphPicker.value = graph;
    const [threads, total] = await search(filters);
    body.replaceChildren(...threads.map(row));
    document.getElementById("threads-empty").hidden = threads.length > 0;
    document.getElementById("threads-count").textContent = `(${total})`;
    const pages = Math.max(1, Math.ceil(total / size));
    document.getElementById("page-label").textContent = `page ${page + 1} of ${pages}`;
    prev.disabled = page === 0;
    next.disabled = page + 1 >= pages;
  } catch (exc) {
    showError(error, exc);
  }
}

document.getElementById("threads-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  go({
    status: statusPicker.value,
    graph: graphPicker.value,
    meta: metaInput.value,
    from: fromInput.value,
    to: toInput.value,
    page: "0",
  });
});
prev.addEventListener("click", () => go({ page: String(page - 1) }));
next.addEventListener("click", () => go({ page: String(page + 1) }));
load();
