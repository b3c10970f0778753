// One thread: its run timeline from the thread's history (each checkpoint's step, the nodes
// it ran with their writes, errors and interrupts, the state there and what changed), and its
// current state.
import { get, h, post, roleNote, showError, whoami } from "./api.js";
import { conversation } from "./messages.js";

const root = document.body.dataset.api || "";
const threadId = document.getElementById("thread-id").dataset.threadId;
const path = `/threads/${encodeURIComponent(threadId)}`;
const timeline = document.getElementById("timeline");
const error = document.getElementById("thread-error");

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function changedKeys(values, before) {
  const keys = new Set([...Object.keys(values ?? {}), ...Object.keys(before ?? {})]);
  return [...keys].filter((key) => !same(values?.[key], before?.[key]));
}

// What changed in one key: items appended to a list are shown alone; anything else as the
// value before and after.
function keyDiff(key, after, before) {
  if (
    Array.isArray(after) &&
    Array.isArray(before) &&
    before.every((item, i) => same(item, after[i]))
  ) {
    const added = after.slice(before.length);
    return h(
      "li",
      { class: "diff", "data-key": key },
      h("code", {}, key),
      ` +${added.length} item${added.length === 1 ? "" : "s"}`,
      json(added),
    );
  }
  return h(
    "li",
    { class: "diff", "data-key": key },
    h("code", {}, key),
    h(
      "div",
      { class: "before-after" },
      h("div", {}, h("span", { class: "hint" }, "before"), json(before ?? null)),
      h("div", {}, h("span", { class: "hint" }, "after"), json(after ?? null)),
    ),
  );
}

function json(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

// A checkpoint's tasks are the nodes that run *after* it; their results are what they wrote.
function task(item) {
  return h(
    "li",
    { class: `task${item.error ? " failed" : ""}`, "data-node": item.name },
    h("strong", {}, item.name),
    item.error ? h("p", { class: "error" }, `error: ${item.error}`) : null,
    (item.interrupts ?? []).length
      ? h("p", { class: "hint" }, `interrupted: ${item.interrupts.length} pending`)
      : null,
    item.result ? h("details", {}, h("summary", {}, "writes"), json(item.result)) : null,
  );
}

// Fork: a new run on this thread from that checkpoint. The checkpoints after it stay in the
// history (a branch), the thread's state follows the new run.
async function fork(snapshot, button) {
  button.disabled = true;
  const status = button.nextElementSibling;
  try {
    const meta = snapshot.metadata ?? {};
    const run = await post(`${path}/runs`, {
      assistant_id: meta.assistant_id ?? meta.graph_id,
      checkpoint_id: snapshot.checkpoint.checkpoint_id,
      input: null,
    });
    status.textContent = `run ${run.run_id} started…`;
    await get(`${path}/runs/${run.run_id}/join`);
    const done = await get(`${path}/runs/${run.run_id}`);
    document.body.dataset.forked = done.status;
    await load();
  } catch (exc) {
    showError(error, exc);
    button.disabled = false;
  }
}

// The model calls of a step, from the run's decision log: role, model, prompt version, tokens,
// latency and any error (why a fallback happened).
function decisionsList(decisions) {
  return h(
    "ul",
    { class: "decisions" },
    decisions.map((d) =>
      h(
        "li",
        { class: `decision${d.error ? " failed" : ""}`, "data-role": d.role },
        h("strong", {}, d.role),
        ` · ${d.provider} ${d.model ?? ""}`,
        d.prompt?.name ? ` · prompt ${d.prompt.name}@${d.prompt.version}` : "",
        ` · tokens ${d.tokens?.input ?? "?"} in, ${d.tokens?.output ?? "?"} out`,
        d.latency_ms !== null && d.latency_ms !== undefined
          ? ` · ${Math.round(d.latency_ms)} ms`
          : "",
        d.error ? h("span", { class: "error" }, ` · ${d.error_kind ?? "error"}: ${d.error}`) : null,
      ),
    ),
  );
}

// A decision belongs to the step whose checkpoint was written next in the same run.
function byStep(oldest, decisions) {
  const found = new Map();
  for (const d of decisions) {
    const at = Date.parse(d.created_at);
    const snapshot = oldest.find(
      (s) => s.metadata?.run_id === d.run_id && Date.parse(s.created_at) >= at,
    );
    if (!snapshot) continue;
    const id = snapshot.checkpoint.checkpoint_id;
    found.set(id, [...(found.get(id) ?? []), d]);
  }
  return found;
}

function step(snapshot, before, branched, decisions) {
  const meta = snapshot.metadata ?? {};
  const changed = before
    ? changedKeys(snapshot.values, before.values)
    : Object.keys(snapshot.values ?? {});
  const node = h(
    "li",
    {
      class: "checkpoint",
      "data-step": meta.step ?? "",
      "data-checkpoint-id": snapshot.checkpoint?.checkpoint_id ?? "",
    },
    h(
      "div",
      { class: "checkpoint-head" },
      h("span", { class: "step" }, `step ${meta.step ?? "?"}`),
      ` · ${meta.source ?? ""} · `,
      h(
        "time",
        { datetime: snapshot.created_at },
        new Date(snapshot.created_at).toLocaleTimeString(),
      ),
      meta.run_id
        ? h("span", { class: "hint" }, ` · run ${String(meta.run_id).slice(0, 8)}`)
        : null,
      branched
        ? h("span", { class: "branch" }, ` · forked from step ${before.metadata?.step ?? "?"}`)
        : null,
    ),
    h(
      "p",
      { class: "changed" },
      changed.length ? `changed: ${changed.join(", ")}` : "no change to the state",
    ),
    before && changed.length
      ? h(
          "details",
          { class: "diffs" },
          h("summary", {}, "diff to the parent"),
          h(
            "ul",
            {},
            changed.map((key) => keyDiff(key, snapshot.values?.[key], before.values?.[key])),
          ),
        )
      : null,
    decisions?.length ? decisionsList(decisions) : null,
    (snapshot.tasks ?? []).length
      ? h(
          "div",
          {},
          h("span", { class: "hint" }, "then ran: "),
          h("ul", { class: "tasks" }, snapshot.tasks.map(task)),
        )
      : h("p", { class: "hint" }, "nothing left to run"),
    h("details", { class: "state" }, h("summary", {}, "state at this step"), json(snapshot.values)),
    (snapshot.next ?? []).length && canRun
      ? h(
          "p",
          {},
          h(
            "button",
            {
              type: "button",
              class: "fork",
              onclick: (event) => fork(snapshot, event.currentTarget),
            },
            "Fork from here",
          ),
          h("span", { class: "hint", "aria-live": "polite" }),
        )
      : null,
  );
  return node;
}

// A viewer sees the timeline but no "Fork from here" (a fork starts a run: operator or above).
let canRun = true;

async function load() {
  try {
    const [thread, history, me] = await Promise.all([
      get(path),
      post(`${path}/history`, { limit: 100 }),
      whoami(),
    ]);
    canRun = !me || me.can.run;
    document.getElementById("thread-role").replaceChildren(
      ...(canRun ? [] : [roleNote(me, "operator", "forking from a step (it starts a run)")]),
    );
    const meta = thread.metadata ?? {};
    document.getElementById("thread-meta").textContent =
      `${meta.graph_id ?? "?"} · status ${thread.status} · created ${thread.created_at} · updated ${thread.updated_at}`;
    document.getElementById("thread-review").hidden = thread.status !== "interrupted";
    document.getElementById("thread-values").textContent = JSON.stringify(
      thread.values ?? {},
      null,
      2,
    );
    const messages = Array.isArray(thread.values?.messages) ? thread.values.messages : [];
    document.getElementById("thread-conversation").hidden = !messages.length;
    document.getElementById("thread-log").replaceChildren(...conversation(messages));
    const chat = document.getElementById("thread-chat");
    chat.href = `${root}/console/chat?${new URLSearchParams({ thread: threadId, assistant: meta.assistant_id ?? meta.graph_id ?? "" })}`;
    // Oldest first; each step is compared with its parent checkpoint (after a fork, the
    // previous entry of the list may be on the other branch).
    const oldest = [...history].reverse();
    const byId = new Map(oldest.map((s) => [s.checkpoint?.checkpoint_id, s]));
    const runs = await get(`${path}/runs?limit=100`);
    const logged = (
      await Promise.all(runs.map((r) => get(`${path}/runs/${r.run_id}/decisions`)))
    ).flat();
    const decided = byStep(oldest, logged);
    timeline.replaceChildren(
      ...oldest.map((snapshot, index) => {
        const parent = byId.get(snapshot.parent_checkpoint?.checkpoint_id);
        const decisions = decided.get(snapshot.checkpoint?.checkpoint_id);
        return step(snapshot, parent, parent && parent !== oldest[index - 1], decisions);
      }),
    );
  } catch (exc) {
    showError(error, exc);
  }
}

load();
