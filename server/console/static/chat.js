// Chat with any assistant: tokens stream in (stream mode messages-tuple), the thread's values
// then redraw the conversation with tool calls as cards; Stop cancels the run.
import { byIds, get, h, post, roleNote, showError, stream, whoami } from "./api.js";
import { conversation, messageNode, text } from "./messages.js";

const root = document.body.dataset.api || "";
const [form, picker, log, input, send, stop, status, error, threadLabel] = byIds(
  "chat-form", "chat-assistant", "chat-log", "chat-input", "chat-send", "chat-stop",
  "chat-status", "chat-error", "chat-thread",
);

let threadId = null;
let runId = null;
let controller = null;
let stopped = false;

// What the page has shown of the run it follows, kept for this tab (sessionStorage) after every
// event: a refresh puts it back and re-attaches to the run's join stream after the last event's
// id (Last-Event-ID), so nothing is lost and nothing is shown twice. The conversation of the
// last `values` event is kept apart, written only when it changes (tokens come far more often).
let snapshot = null;
const snapshotKey = (id) => `agent-ops-chat:${id}`;
const messagesKey = (id) => `agent-ops-chat-messages:${id}`;

function keep(event) {
  if (!snapshot || !threadId || event.id === null) return;
  snapshot.last = event.id;
  snapshot.started = [...started];
  snapshot.timings = [...timings];
  sessionStorage.setItem(snapshotKey(threadId), JSON.stringify(snapshot));
}

function forget(id) {
  sessionStorage.removeItem(snapshotKey(id));
  sessionStorage.removeItem(messagesKey(id));
}

// The snapshot of `run` on thread `id`, when this tab followed it (null: replay from the start).
function kept(id, run) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(snapshotKey(id)) ?? "null");
    const messages = JSON.parse(sessionStorage.getItem(messagesKey(id)) ?? "null");
    if (saved?.run !== run || saved.last === null || !Array.isArray(messages)) return null;
    return { ...saved, messages };
  } catch {
    return null; // unreadable: replay the run's stream from its start instead
  }
}

function bubble(kind, id) {
  const node = messageNode(kind, id);
  log.append(node);
  return node;
}

// Task start and end times (debug events) give each tool call the duration of the node that
// answered it; timestamps carry microseconds, which Date.parse would drop.
const started = new Map();
const timings = new Map();
function micros(timestamp) {
  const fraction = timestamp.match(/\.(\d+)/)?.[1] ?? "0";
  return (
    Date.parse(timestamp.replace(/\.\d+/, "")) * 1000 + Number(fraction.padEnd(6, "0").slice(0, 6))
  );
}

function timeTask({ type, timestamp, payload }) {
  if (!payload?.id || !timestamp) return;
  if (type === "task") started.set(payload.id, micros(timestamp));
  if (type !== "task_result" || !started.has(payload.id)) return;
  const ms = (micros(timestamp) - started.get(payload.id)) / 1000;
  for (const message of payload.result?.messages ?? []) {
    if (message?.type === "tool" && message.tool_call_id) {
      timings.set(message.tool_call_id, { node: payload.name, ms });
    }
  }
}

function redraw(messages) {
  log.replaceChildren(...conversation(messages, timings));
  log.scrollTop = log.scrollHeight;
}

function onEvent(message) {
  show(message);
  keep(message);
}

function show({ event, data }) {
  if (event === "metadata" && data?.run_id) {
    runId = data.run_id;
    stop.disabled = false;
    if (snapshot) snapshot.run = data.run_id;
  } else if (event === "messages" && Array.isArray(data)) {
    const [chunk] = data;
    const piece = text(chunk?.content);
    if (!piece || !String(chunk.type).startsWith("AI")) return;
    const node =
      log.querySelector(`.msg.ai.streaming[data-id="${CSS.escape(chunk.id ?? "")}"]`) ??
      bubble("ai streaming", chunk.id);
    node.textContent += piece;
    log.scrollTop = log.scrollHeight;
    if (snapshot) snapshot.bubbles[chunk.id ?? ""] = node.textContent;
  } else if (event === "debug" && data) {
    timeTask(data);
  } else if (event === "values" && Array.isArray(data?.messages)) {
    redraw(data.messages);
    if (snapshot && threadId) {
      snapshot.bubbles = {}; // the redraw replaced the streaming bubbles
      sessionStorage.setItem(messagesKey(threadId), JSON.stringify(data.messages));
    }
  } else if (event === "error") {
    showError(error, data?.message ?? JSON.stringify(data));
  }
}

async function loadAssistants() {
  const assistants = await post("/assistants/search", { limit: 100 });
  picker.replaceChildren(
    ...assistants.map((a) => h("option", { value: a.assistant_id }, a.name || a.graph_id)),
  );
  const wanted = new URLSearchParams(location.search).get("assistant");
  const match = assistants.find((a) => a.graph_id === wanted || a.assistant_id === wanted);
  if (match) picker.value = match.assistant_id;
}

// A run that stopped at an interrupt waits for a person: point at its review.
async function showWaiting() {
  const thread = await get(`/threads/${threadId}`);
  const waiting = document.getElementById("chat-waiting");
  waiting.hidden = thread.status !== "interrupted";
  waiting.querySelector("a").href = `${root}/console/inbox/${encodeURIComponent(threadId)}`;
}

// Follow a run's events until it ends (a new run when `body` is given, else its join stream,
// after `last` when the page already shows the events up to it).
async function follow(path, body, last = null) {
  error.hidden = true;
  send.disabled = true;
  picker.disabled = true;
  stopped = false;
  controller = new AbortController();
  status.textContent = "running…";
  snapshot ??= { run: runId, last, bubbles: {} };
  try {
    await stream(path, body, onEvent, controller.signal, last);
    forget(threadId);
    status.textContent = stopped ? "stopped" : "done";
    await showWaiting();
  } catch (exc) {
    if (stopped) {
      forget(threadId);
      status.textContent = "stopped";
    } else {
      status.textContent = "";
      showError(error, exc);
    }
  } finally {
    send.disabled = false;
    stop.disabled = true;
    runId = null;
    snapshot = null;
  }
}

function remember() {
  // The thread goes into the URL, so a refresh comes back to it (and to its running run).
  const query = new URLSearchParams(location.search);
  query.set("thread", threadId);
  query.set("assistant", picker.value);
  history.replaceState(null, "", `?${query}`);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = input.value.trim();
  if (!message) return;
  error.hidden = true;
  try {
    if (!threadId) {
      threadId = (await post("/threads", {})).thread_id;
      threadLabel.textContent = threadId;
      remember();
    }
  } catch (exc) {
    showError(error, exc);
    return;
  }
  bubble("human").textContent = message;
  input.value = "";
  await follow(`/threads/${threadId}/runs/stream`, {
    assistant_id: picker.value,
    input: { messages: [{ type: "human", content: message }] },
    stream_mode: ["messages-tuple", "values", "debug"],
  });
});

// Back on a thread after a refresh: its run in flight, if any, through the run's join stream.
// When this tab followed that run, the page shows what it had shown and asks for the events
// after the last one (Last-Event-ID); otherwise it shows the conversation so far and replays
// the run's events from the start (the server keeps them), so nothing streamed is lost.
async function reattach(id) {
  threadId = id;
  threadLabel.textContent = id;
  picker.disabled = true;
  const state = await get(`/threads/${id}/state`);
  for (const wanted of ["running", "pending"]) {
    const [run] = await get(`/threads/${id}/runs?status=${wanted}&limit=1`);
    if (!run) continue;
    runId = run.run_id;
    stop.disabled = false;
    const saved = kept(id, run.run_id);
    if (saved) {
      for (const [key, value] of saved.started ?? []) started.set(key, value);
      for (const [key, value] of saved.timings ?? []) timings.set(key, value);
      redraw(saved.messages);
      for (const [message, shown] of Object.entries(saved.bubbles ?? {})) {
        bubble("ai streaming", message).textContent = shown;
      }
      snapshot = { run: run.run_id, last: saved.last, bubbles: { ...saved.bubbles } };
    } else {
      redraw(state.values?.messages ?? []);
    }
    await follow(`/threads/${id}/runs/${run.run_id}/stream`, null, saved?.last ?? null);
    return;
  }
  forget(id);
  redraw(state.values?.messages ?? []);
}

stop.addEventListener("click", async () => {
  if (!threadId || !runId) return;
  stopped = true;
  stop.disabled = true;
  try {
    await post(`/threads/${threadId}/runs/${runId}/cancel?wait=true`);
  } catch (exc) {
    showError(error, exc);
  }
  controller?.abort();
});

document.getElementById("chat-new").addEventListener("click", () => {
  threadId = null;
  picker.disabled = false;
  history.replaceState(null, "", location.pathname);
  threadLabel.textContent = "new";
  log.replaceChildren();
});

// A viewer reads conversations but may not start runs (the server answers 403): no send box.
async function applyRole() {
  const me = await whoami();
  if (!me || me.can.run) return;
  for (const node of [send, stop, input.closest("label")]) node.hidden = true;
  input.required = false;
  form.append(roleNote(me, "operator", "sending a message (it starts a run)"));
}

applyRole()
  .then(loadAssistants)
  .then(() => {
    const id = new URLSearchParams(location.search).get("thread");
    return id ? reattach(id) : null;
  })
  .catch((exc) => showError(error, exc));
