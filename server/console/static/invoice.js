// An invoice awaiting review: its fields, its lines beside the purchase-order lines they were
// matched to, and every finding of the checks highlighted where it applies.
import { h } from "./api.js";

const FIELDS = [
  "vendor_name",
  "vendor_tax_id",
  "invoice_number",
  "issue_date",
  "due_date",
  "currency",
  "po_number",
  "subtotal",
  "allowances",
  "charges",
  "tax",
  "total",
  "prepaid",
];
const LINE_FIELDS = ["description", "product_code", "quantity", "unit_price", "amount"];

export function looksLikeInvoice(action, args) {
  return (
    action === "approve_invoice" || (args && "vendor_name" in args && Array.isArray(args.lines))
  );
}

// Finding fields read "total", "tax,total", "lines[2]" or "lines[0].unit_price".
function flags(findings) {
  const byField = new Map();
  for (const finding of findings) {
    for (const field of String(finding.field ?? "").split(",")) {
      const key = field.trim();
      if (!byField.has(key)) byField.set(key, []);
      byField.get(key).push(finding);
    }
  }
  return byField;
}

function flagged(cell, found) {
  if (!found?.length) return cell;
  cell.classList.add("flagged");
  cell.title = found.map((f) => `${f.code}: ${f.message}`).join("\n");
  return cell;
}

const show = (value) =>
  value === null || value === undefined
    ? ""
    : typeof value === "object"
      ? JSON.stringify(value)
      : String(value);

export function invoiceView(invoice, values) {
  const match = values?.match ?? {};
  const findings = Array.isArray(match.findings) ? match.findings : [];
  const byField = flags(findings);
  const poLines = new Map((match.lines ?? []).map((line) => [line.index, line]));
  const fieldRows = FIELDS.filter((name) => name in invoice).map((name) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, name),
      flagged(h("td", { "data-field": name }, show(invoice[name])), byField.get(name)),
    ),
  );
  const lines = Array.isArray(invoice.lines) ? invoice.lines : [];
  const lineRows = lines.map((line, index) => {
    const po = poLines.get(index);
    const row = h(
      "tr",
      { "data-line": index },
      h("td", {}, String(index + 1)),
      LINE_FIELDS.map((name) =>
        flagged(h("td", {}, show(line[name])), byField.get(`lines[${index}].${name}`)),
      ),
      h(
        "td",
        { class: "po" },
        po ? `${match.purchase_number ?? "PO"} line ${po.purchase_line_id}` : "no PO line",
      ),
    );
    return flagged(row, byField.get(`lines[${index}]`));
  });
  return h(
    "div",
    { class: "invoice" },
    h(
      "div",
      { class: "invoice-head" },
      h("table", { class: "fields" }, h("caption", {}, "Invoice"), h("tbody", {}, fieldRows)),
      h(
        "div",
        { class: "match" },
        h("h3", {}, "Purchase order"),
        h(
          "p",
          {},
          match.purchase_number
            ? `${match.purchase_number} (supplier ${match.supplier ?? "?"})`
            : "No purchase order matched.",
        ),
      ),
    ),
    h(
      "table",
      { class: "lines" },
      h("caption", {}, "Lines (invoice beside the order line each was matched to)"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "#"),
          LINE_FIELDS.map((f) => h("th", { scope: "col" }, f)),
          h("th", { scope: "col" }, "order line"),
        ),
      ),
      h("tbody", {}, lineRows),
    ),
    h(
      "section",
      { class: "findings" },
      h("h3", {}, `Findings (${findings.length})`),
      findings.length
        ? h(
            "ul",
            {},
            findings.map((f) =>
              h(
                "li",
                { class: "finding", "data-code": f.code },
                h("code", {}, f.code),
                ` (${f.field}): `,
                f.message,
              ),
            ),
          )
        : h("p", {}, "None."),
    ),
  );
}
