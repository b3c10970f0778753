// Forms built from a payload's arguments, read back with each value's original type, and a
// small, escaping renderer for the markdown descriptions the graphs write.
import { h } from "./api.js";

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const isScalar = (value) =>
  value === null || ["string", "number", "boolean"].includes(typeof value);

function kindOf(value) {
  return value === null ? "null" : typeof value;
}

function input(name, value, label) {
  return h("input", {
    name,
    value: value === null ? "" : String(value),
    "data-kind": kindOf(value),
    "aria-label": label,
  });
}

// An edit form for `args`: scalars as inputs, lists of flat objects as tables of inputs, the
// rest as JSON text.
export function argsForm(args) {
  const fields = h("div", { class: "args-form" });
  for (const [key, value] of Object.entries(args)) {
    if (isScalar(value)) {
      fields.append(h("label", {}, h("span", {}, key), input(key, value, key)));
    } else if (
      Array.isArray(value) &&
      value.length &&
      value.every(isObject) &&
      value.every((row) => Object.values(row).every(isScalar))
    ) {
      const columns = [...new Set(value.flatMap((row) => Object.keys(row)))];
      fields.append(
        h(
          "fieldset",
          { "data-list": key },
          h("legend", {}, key),
          h(
            "table",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                columns.map((c) => h("th", { scope: "col" }, c)),
              ),
            ),
            h(
              "tbody",
              {},
              value.map((row, index) =>
                h(
                  "tr",
                  { "data-index": index },
                  columns.map((c) =>
                    h("td", {}, input(c, row[c] ?? null, `${key} ${index + 1} ${c}`)),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    } else {
      fields.append(
        h(
          "label",
          {},
          h("span", {}, `${key} (JSON)`),
          h(
            "textarea",
            { name: key, "data-kind": "json", rows: 4 },
            JSON.stringify(value, null, 2),
          ),
        ),
      );
    }
  }
  return fields;
}

function read(control) {
  const text = control.value;
  switch (control.dataset.kind) {
    case "number": {
      const number = Number(text);
      if (text.trim() === "" || Number.isNaN(number))
        throw new Error(`${control.name}: ${JSON.stringify(text)} is not a number`);
      return number;
    }
    case "boolean":
      return text.trim().toLowerCase() === "true";
    case "null":
      return text === "" ? null : text;
    case "json":
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`${control.name}: not valid JSON`);
      }
    default:
      return text;
  }
}

export function readArgsForm(form) {
  const args = {};
  for (const control of form.querySelectorAll(
    ":scope > label > input, :scope > label > textarea",
  )) {
    args[control.name] = read(control);
  }
  for (const set of form.querySelectorAll(":scope > fieldset[data-list]")) {
    args[set.dataset.list] = [...set.querySelectorAll("tbody tr")].map((tr) => {
      const row = {};
      for (const control of tr.querySelectorAll("input")) row[control.name] = read(control);
      return row;
    });
  }
  return args;
}

// **bold**, `code` and "- " list items; everything else is text (never parsed as HTML).
function inline(text) {
  const parts = [];
  const pattern = /\*\*(.+?)\*\*|`([^`]+)`/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(match[1] !== undefined ? h("strong", {}, match[1]) : h("code", {}, match[2]));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export function markdown(text) {
  const container = h("div", { class: "description" });
  let list = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("- ")) {
      list ??= container.appendChild(h("ul"));
      list.append(h("li", {}, inline(line.slice(2))));
      continue;
    }
    list = null;
    if (line.trim()) container.append(h("p", {}, inline(line)));
  }
  return container;
}
