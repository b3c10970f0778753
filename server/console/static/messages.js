// A conversation as a thread's values hold it (LangChain messages), as page elements: human
// and AI messages as text (never HTML), tool calls as cards with their arguments and result.
import { h } from "./api.js";

export function text(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (typeof part === "string" ? part : (part?.text ?? ""))).join("");
  }
  return "";
}

export function messageNode(kind, id) {
  return h("div", { class: `msg ${kind}`, "data-id": id ?? "" });
}

function toolCard(call, result, timing) {
  const failed = result?.status === "error";
  return h(
    "div",
    { class: `tool-card${failed ? " failed" : ""}`, "data-tool": call.name },
    h("strong", {}, `tool ${call.name}`),
    timing
      ? h(
          "span",
          { class: "duration hint", title: `node ${timing.node}` },
          ` · ${timing.ms.toFixed(1)} ms`,
        )
      : null,
    h("pre", { class: "args" }, JSON.stringify(call.args ?? {}, null, 2)),
    result
      ? h("pre", { class: "result" }, `${failed ? "error: " : "→ "}${text(result.content)}`)
      : h("p", { class: "hint" }, "(no result yet)"),
  );
}

// `timings` maps a tool call id to the run of the node that answered it ({node, ms}), when the
// page saw that node's task events (stream mode debug).
export function conversation(messages, timings = new Map()) {
  const results = new Map(
    messages.filter((m) => m.type === "tool").map((m) => [m.tool_call_id, m]),
  );
  const nodes = [];
  for (const message of messages) {
    if (message.type === "tool") continue;
    const kind = message.type === "human" ? "human" : "ai";
    const content = text(message.content);
    if (content) {
      const node = messageNode(kind, message.id);
      node.textContent = content;
      nodes.push(node);
    }
    for (const call of message.tool_calls ?? [])
      nodes.push(toolCard(call, results.get(call.id), timings.get(call.id)));
  }
  return nodes;
}
