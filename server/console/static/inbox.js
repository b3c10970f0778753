// The approvals inbox: every interrupted thread, oldest waiting first, with its age.
import { age, h, post, roleNote, showError, whoami } from "./api.js";
import { summary } from "./hitl.js";

const body = document.querySelector("#inbox tbody");
const count = document.getElementById("inbox-count");
const empty = document.getElementById("inbox-empty");
const error = document.getElementById("inbox-error");
const root = document.body.dataset.api || "";

async function load() {
  error.hidden = true;
  try {
    // A thread's updated_at is when its run stopped at the interrupt: the wait began then.
    const threads = await post("/threads/search", {
      status: "interrupted",
      sort_by: "updated_at",
      sort_order: "asc",
      limit: 200,
    });
    const total = await post("/threads/count", { status: "interrupted" });
    count.textContent = `(${total})`;
    body.replaceChildren(...threads.map(row));
    empty.hidden = threads.length > 0;
  } catch (exc) {
    showError(error, exc);
  }
}

function row(thread) {
  const interrupts = Object.values(thread.interrupts ?? {}).flat();
  const meta = thread.metadata ?? {};
  const link = `${root}/console/inbox/${encodeURIComponent(thread.thread_id)}`;
  const requests = interrupts.length
    ? interrupts.map((item) => h("div", {}, summary(item.value)))
    : [h("div", { class: "hint" }, "(no interrupt value)")];
  return h(
    "tr",
    { "data-thread-id": thread.thread_id },
    h("td", { title: thread.updated_at }, age(thread.updated_at)),
    h("td", {}, meta.graph_id ?? meta.assistant_id ?? ""),
    h("td", {}, h("a", { href: link }, ...requests)),
    h("td", {}, h("code", {}, thread.thread_id.slice(0, 8))),
  );
}

// Below approver the inbox is for watching: say so once, above the list.
whoami().then((me) => {
  if (me && !me.can.approve)
    document
      .getElementById("inbox-role")
      .replaceChildren(roleNote(me, "approver", "deciding (approve, edit, reject)"));
});

document.getElementById("inbox-refresh").addEventListener("click", load);
load();
setInterval(load, 15000);
