// One interrupted thread: each interrupt rendered by its format, and the operator's decision
// sent as `command.resume` on a new run, whose outcome is then shown.
import { get, h, post, roleNote, showError, whoami } from "./api.js";
import { argsForm, markdown, readArgsForm } from "./forms.js";
import { readInterrupt } from "./hitl.js";
import { invoiceView, looksLikeInvoice } from "./invoice.js";

const threadId = document.getElementById("thread-id").dataset.threadId;
const container = document.getElementById("interrupts");
const meta = document.getElementById("review-meta");
const error = document.getElementById("review-error");
const outcome = document.getElementById("review-outcome");
const outcomeText = document.getElementById("outcome-text");
const path = `/threads/${encodeURIComponent(threadId)}`;

async function load() {
  error.hidden = true;
  try {
    const [thread, me] = await Promise.all([get(path), whoami()]);
    const assistant = thread.metadata?.assistant_id ?? thread.metadata?.graph_id;
    meta.textContent = `${thread.metadata?.graph_id ?? "?"} · status ${thread.status} · updated ${thread.updated_at}`;
    const interrupts = Object.values(thread.interrupts ?? {}).flat();
    if (thread.status !== "interrupted" || !interrupts.length) {
      container.replaceChildren(
        h(
          "p",
          { class: "empty" },
          `This thread is ${thread.status}: nothing waits for a decision.`,
        ),
      );
      return;
    }
    const state = await get(`${path}/state`);
    const cards = interrupts.map((item) =>
      card(item, state.values ?? {}, { assistant, several: interrupts.length > 1 }),
    );
    // Below approver the decision is shown but cannot be sent: the server would refuse it (403).
    const notes = [];
    if (me && !me.can.approve) {
      cards.forEach(readOnly);
      notes.push(roleNote(me, "approver", "deciding (approve, edit, reject)"));
    }
    container.replaceChildren(...notes, ...cards);
  } catch (exc) {
    showError(error, exc);
  }
}

function card(item, values, context) {
  const read = readInterrupt(item.value);
  const form = h("form", {
    class: "decision",
    "data-format": read.format,
    "data-interrupt-id": item.id ?? "",
  });
  const section = h(
    "section",
    { class: "interrupt" },
    h(
      "h2",
      {},
      read.format === "json" ? "Interrupt" : read.requests.map((r) => r.action).join(", "),
    ),
    h("p", { class: "hint" }, `format: ${read.format}`),
    form,
  );
  const status = h("p", { class: "error", role: "alert", hidden: true });
  if (read.format === "json") {
    form.append(
      h("pre", { class: "json" }, JSON.stringify(item.value, null, 2)),
      h(
        "label",
        { class: "wide" },
        h("span", {}, "Resume value (JSON; other text is sent as a string)"),
        h("textarea", { name: "resume", rows: 4, required: true }),
      ),
      h("button", { type: "submit" }, "Resume"),
      status,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = form.elements.resume.value;
      let value = text;
      try {
        value = JSON.parse(text);
      } catch {
        // free text is a string answer
      }
      submit(form, status, item, value, context);
    });
    return section;
  }
  const parts = read.requests.map((request, index) => requestPart(request, index, values));
  form.append(
    ...parts.map((p) => p.node),
    h("button", { type: "submit" }, "Send decision"),
    status,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    try {
      const answers = parts.map((p) => p.answer());
      submit(form, status, item, read.resume(answers), context);
    } catch (exc) {
      showError(status, exc);
    }
  });
  return section;
}

function readOnly(section) {
  const form = section.querySelector("form");
  for (const field of form.elements) field.disabled = true;
  for (const button of form.querySelectorAll("button")) button.remove();
  form.dataset.readOnly = "true";
}

function requestPart(request, index, values) {
  const name = `decision-${index}`;
  const editor = argsForm(request.args ?? {});
  const editBox = h(
    "div",
    { class: "edit", hidden: true },
    h("h4", {}, "Edit the arguments"),
    editor,
  );
  const text = h("textarea", { name: `text-${index}`, rows: 3, "aria-label": "Message" });
  const textBox = h("label", { class: "wide text", hidden: true }, h("span", {}, "Message"), text);
  const choices = h(
    "fieldset",
    { class: "choices" },
    h("legend", {}, "Decision"),
    request.decisions.map((d, i) =>
      h(
        "label",
        {},
        h("input", {
          type: "radio",
          name,
          value: d.kind,
          required: true,
          checked: i === 0 && d.needs === null,
        }),
        d.label,
      ),
    ),
  );
  const sync = () => {
    const chosen = request.decisions.find(
      (d) => d.kind === choices.querySelector("input:checked")?.value,
    );
    editBox.hidden = chosen?.needs !== "args";
    textBox.hidden = !chosen?.needs?.endsWith("text");
    text.required = chosen?.needs === "text";
  };
  choices.addEventListener("change", sync);
  const view = looksLikeInvoice(request.action, request.args)
    ? invoiceView(request.args, values)
    : h("pre", { class: "json" }, JSON.stringify(request.args, null, 2));
  const node = h(
    "div",
    { class: "request", "data-action": request.action },
    request.description ? markdown(request.description) : null,
    view,
    choices,
    editBox,
    textBox,
  );
  sync();
  return {
    node,
    answer() {
      const kind = choices.querySelector("input:checked")?.value;
      if (!kind) throw new Error("choose a decision");
      const chosen = request.decisions.find((d) => d.kind === kind);
      const answer = { kind };
      if (chosen.needs === "args") answer.args = readArgsForm(editor);
      if (chosen.needs?.endsWith("text")) answer.text = text.value.trim();
      if (chosen.needs === "text" && !answer.text)
        throw new Error(`${chosen.label} needs a message`);
      return answer;
    },
  };
}

async function submit(form, status, item, value, context) {
  status.hidden = true;
  for (const button of form.querySelectorAll("button")) button.disabled = true;
  try {
    // With several interrupts pending, an answer names the one it is for.
    const resume = context.several && item.id ? { [item.id]: value } : value;
    const run = await post(`${path}/runs`, {
      assistant_id: context.assistant,
      command: { resume },
    });
    outcome.hidden = false;
    outcomeText.textContent = `Run ${run.run_id} started...`;
    await get(`${path}/runs/${run.run_id}/join`);
    const [finished, thread] = await Promise.all([get(`${path}/runs/${run.run_id}`), get(path)]);
    outcomeText.textContent = `Run ${run.run_id}: ${finished.status}; the thread is ${thread.status}.`;
    outcome.dataset.runStatus = finished.status;
    await load();
  } catch (exc) {
    showError(status, exc);
    for (const button of form.querySelectorAll("button")) button.disabled = false;
  }
}

load();
