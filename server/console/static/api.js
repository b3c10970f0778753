// The LangGraph Server API as the console uses it: JSON requests and SSE run streams.
// Every call goes over HTTP like any other client's; errors carry the server's own message.

const root = document.body.dataset.api || "";
const KEY = "agent-ops-api-key";

// With auth on, every API call carries the operator's key (kept for this tab only) the way the
// sdk sends it; the page shells themselves hold no data.
export function authHeaders() {
  const key = sessionStorage.getItem(KEY);
  return key ? { "x-api-key": key } : {};
}

export function signIn(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export const signedIn = () => sessionStorage.getItem(KEY) !== null;

// The page's elements with these ids, in order (a page module names them as it destructures).
export const byIds = (...ids) => ids.map((id) => document.getElementById(id));

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
  }
}

async function failure(response) {
  let detail = response.statusText;
  try {
    detail = (await response.json()).detail ?? detail;
  } catch {
    // not JSON: keep the status text
  }
  if (response.status === 401) detail += " (sign in with an API key at the top of the page)";
  return new ApiError(response.status, detail);
}

// GET a text resource (e.g. /metrics) with the operator's credentials.
export async function getText(path) {
  const response = await fetch(root + path, { headers: authHeaders() });
  if (!response.ok) throw await failure(response);
  return response.text();
}

export async function call(method, path, body) {
  const init = { method, headers: { accept: "application/json", ...authHeaders() } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(root + path, init);
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

export const post = (path, body) => call("POST", path, body ?? {});
export const get = (path) => call("GET", path);

// Who the signed-in caller is (GET /me: subject, tenant, role, what the role may do), asked
// once per page. Null when the server refuses (no key or a bad one, with auth on): the page's
// own calls then show why. The page only hides what the role may not do; the server refuses it.
let identity;
export function whoami() {
  identity ??= get("/me").catch(() => null);
  return identity;
}

// The note shown where an action is hidden because the caller's role is below `needed`.
export function roleNote(me, needed, doing) {
  return h(
    "p",
    { class: "role-note", role: "note" },
    `Signed in as ${me.display_name ?? me.subject} with role ${me.role}: ${doing} needs role ${needed} or above.`,
  );
}

// Follow a run's SSE stream, handing each event ({event, data, id}) to `onEvent`. It starts
// with POST `path` (a new run) or GET (`body` null: the join stream of a run); when the
// connection drops before the run ends it re-attaches to the join stream (the `Location` the
// server named) with `Last-Event-ID`, so no event is lost or repeated. Returns the last id.
export async function stream(path, body, onEvent, signal, lastEventId = null) {
  let url = root + path;
  let init =
    body === null
      ? { method: "GET" }
      : {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "content-type": "application/json" },
        };
  let last = lastEventId;
  for (let attempt = 0; ; attempt++) {
    init = {
      ...init,
      signal,
      headers: { ...(init.headers ?? {}), ...authHeaders(), accept: "text/event-stream" },
    };
    if (last !== null) init.headers["last-event-id"] = last;
    let response;
    try {
      response = await fetch(url, init);
    } catch (exc) {
      if (signal?.aborted || attempt >= 5 || init.method === "POST") throw exc;
      await new Promise((resolve) => setTimeout(resolve, 500 * (attempt + 1)));
      continue;
    }
    if (!response.ok) throw await failure(response);
    const location = response.headers.get("location");
    try {
      for await (const event of events(response)) {
        if (event.id !== null) last = event.id;
        onEvent(event);
      }
      return last;
    } catch (exc) {
      if (signal?.aborted || attempt >= 5 || (!location && init.method === "POST")) throw exc;
      // The connection broke mid-run: re-attach to the run's join stream after the last event.
      if (location) url = root + location;
      init = { method: "GET" };
      await new Promise((resolve) => setTimeout(resolve, 500 * (attempt + 1)));
    }
  }
}

async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseEvent(block);
      if (event) yield event;
    }
  }
}

function parseEvent(block) {
  let event = "message";
  let id = null;
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  if (!data.length) return null;
  const text = data.join("\n");
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // a non-JSON payload stays text
  }
  return { event, data: parsed, id };
}

// Build an element: h("td", {class: "x"}, "text", child). Text is always a text node (escaped).
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function age(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400)
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

export function showError(element, error) {
  element.textContent = error instanceof Error ? error.message : String(error);
  element.hidden = false;
}

export const apiRoot = root;
