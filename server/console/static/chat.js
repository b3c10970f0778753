// Chat with any assistant: tokens stream in (stream mode messages-tuple), the thread's values
// then redraw the conversation with tool calls as cards; Stop cancels the run.
import { get, h, post, roleNote, showError, stream, whoami } from "./api.js";
import { conversation, messageNode, text } from "./messages.js";

const root = document.body.dataset.api || "";
const form = document.getElementById("chat-form");
const picker = document.getElementById("chat-assistant");
const log = document.getElementById("chat-log");
const input = document.getElementById("chat-input");
const send = document.getElementById("chat-send");
const stop = document.getElementById("chat-stop");
const status = document.getElementById("chat-status");
const error = document.getElementById("chat-error");
const threadLabel = document.getElementById("chat-thread");

let threadId = null;
let runId = null;
let controller = null;
let stopped = false;

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

function onEvent({ event, data }) {
  if (event === "metadata" && data?.run_id) {
    runId = data.run_id;
    stop.disabled = false;
  } else if (event === "messages" && Array.isArray(data)) {
    const [chunk] = data;
    const piece = text(chunk?.content);
    if (!piece || !String(chunk.type).startsWith("AI")) return;
    const node =
      log.querySelector(`.msg.ai.streaming[data-id="${CSS.escape(chunk.id ?? "")}"]`) ??
      bubble("ai streaming", chunk.id);
    node.textContent += piece;
    log.scrollTop = log.scrollHeight;
  } else if (event === "debug" && data) {
    timeTask(data);
  } else if (event === "values" && Array.isArray(data?.messages)) {
    redraw(data.messages);
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

// Follow a run's events until it ends (a new run when `body` is given, else its join stream).
async function follow(path, body) {
  error.hidden = true;
  send.disabled = true;
  picker.disabled = true;
  stopped = false;
  controller = new AbortController();
  status.textContent = "running…";
  try {
    await stream(path, body, onEvent, controller.signal);
    status.textContent = stopped ? "stopped" : "done";
    await showWaiting();
  } catch (exc) {
    if (stopped) status.textContent = "stopped";
    else {
      status.textContent = "";
      showError(error, exc);
    }
  } finally {
    send.disabled = false;
    stop.disabled = true;
    runId = null;
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

// Back on a thread after a refresh: its conversation so far, then its run in flight, if any,
// from the join stream's start (the run's events are kept, so nothing streamed is lost).
async function reattach(id) {
  threadId = id;
  threadLabel.textContent = id;
  picker.disabled = true;
  const state = await get(`/threads/${id}/state`);
  redraw(state.values?.messages ?? []);
  for (const wanted of ["running", "pending"]) {
    const [run] = await get(`/threads/${id}/runs?status=${wanted}&limit=1`);
    if (run) {
      runId = run.run_id;
      stop.disabled = false;
      await follow(`/threads/${id}/runs/${run.run_id}/stream`, null);
      return;
    }
  }
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
