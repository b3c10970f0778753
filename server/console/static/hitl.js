// The human-in-the-loop payloads in use, read into one shape the review page renders:
//   agent-inbox: a list of {action_request: {action, args}, config: {allow_*}, description},
//                answered with a list of {type: accept|edit|response|ignore, args};
//   LangChain's HumanInTheLoopMiddleware: {action_requests: [{name, args, description}],
//                review_configs: [{action_name, allowed_decisions}]}, answered with
//                {decisions: [{type: approve|edit|reject|respond, ...}]}, one per request.
// Anything else is "json": shown as is and answered with a free-form value.

const LABELS = {
  accept: "Accept",
  edit: "Edit",
  response: "Respond",
  ignore: "Ignore (reject)",
  approve: "Approve",
  reject: "Reject",
  respond: "Respond",
};
// What each decision needs from the operator besides choosing it.
const NEEDS = {
  edit: "args",
  response: "text",
  respond: "text",
  reject: "optional-text",
};

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

function decision(kind) {
  return { kind, label: LABELS[kind] ?? kind, needs: NEEDS[kind] ?? null };
}

function agentInbox(value) {
  const list = Array.isArray(value) ? value : [value];
  if (!list.length || !list.every((item) => isObject(item) && isObject(item.action_request))) {
    return null;
  }
  const requests = list.map((item) => {
    const config = item.config ?? {};
    const allowed = [
      ["accept", config.allow_accept],
      ["edit", config.allow_edit],
      ["response", config.allow_respond],
      ["ignore", config.allow_ignore],
    ];
    return {
      action: String(item.action_request.action ?? "action"),
      args: item.action_request.args ?? {},
      description: typeof item.description === "string" ? item.description : "",
      decisions: allowed.filter(([, on]) => on).map(([kind]) => decision(kind)),
    };
  });
  return {
    format: "agent-inbox",
    requests,
    // agent-inbox answers every request of the list, in order.
    resume: (answers) =>
      answers.map((answer, index) => {
        if (answer.kind === "edit") {
          return { type: "edit", args: { action: requests[index].action, args: answer.args } };
        }
        if (answer.kind === "response") return { type: "response", args: answer.text };
        return { type: answer.kind, args: null };
      }),
  };
}

function langChain(value) {
  if (!isObject(value) || !Array.isArray(value.action_requests)) return null;
  const configs = Array.isArray(value.review_configs) ? value.review_configs : [];
  const requests = value.action_requests.map((item, index) => {
    const config =
      configs.find((c) => isObject(c) && c.action_name === item?.name) ?? configs[index] ?? {};
    const allowed = Array.isArray(config.allowed_decisions)
      ? config.allowed_decisions
      : ["approve", "edit", "reject"];
    return {
      action: String(item?.name ?? "action"),
      args: item?.args ?? {},
      description: typeof item?.description === "string" ? item.description : "",
      decisions: allowed.map((kind) => decision(String(kind))),
    };
  });
  return {
    format: "langchain",
    requests,
    resume: (answers) => ({
      decisions: answers.map((answer, index) => {
        if (answer.kind === "edit") {
          return {
            type: "edit",
            edited_action: { name: requests[index].action, args: answer.args },
          };
        }
        if (answer.kind === "reject" || answer.kind === "respond") {
          return answer.text ? { type: answer.kind, message: answer.text } : { type: answer.kind };
        }
        return { type: answer.kind };
      }),
    }),
  };
}

export function readInterrupt(value) {
  return (
    agentInbox(value) ??
    langChain(value) ?? { format: "json", requests: [], resume: (answer) => answer }
  );
}

// One line for the inbox list: the request's first line of description, or its action.
export function summary(value) {
  const read = readInterrupt(value);
  if (read.format === "json") {
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  }
  const first = read.requests[0];
  const line = first.description
    .split("\n")
    .map((l) => l.replaceAll("**", "").trim())
    .find((l) => l && !l.startsWith("Your last answer"));
  return line || first.action;
}
