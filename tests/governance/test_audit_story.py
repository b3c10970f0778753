"""One invoice's whole life in the audit trail, on both backends: an e-invoice received by a
clerk's key, extracted, matched against its order, paused on a price mismatch, approved by a
named approver's key, then booked, posted and paid in the demo Tryton; the chain verifies.

Run with `-s` to see the trail as `agent-ops audit export` writes it (the README's excerpt).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from langgraph_sdk import get_client

from tests.governance.conftest import BACKENDS, SECRET, create_key, start
from tests.governance.test_audit import audit_cli, exported
from tests.invoice.samples import invoice
from tests.servers import AgentOpsProcess
from tests.tryton_fixtures import RunningTryton
from tools.documents import Invoice, to_ubl

ROOT_CONFIG = Path(__file__).resolve().parents[2] / "langgraph.json"

# A price above the order's on each backend's own order line (the module's Tryton is shared).
BILLED = {
    "sqlite": ("NWM-AUDIT-1", "PO-00001", [("WIRE-CU25", "Copper wire 2.5 mm2", 50, "1.32")]),
    "postgres": ("BHP-AUDIT-1", "PO-00002", [("BOX-60", "Shipping carton 60 cm", 100, "1.15")]),
}


@pytest.fixture(scope="module", params=BACKENDS)
def invoice_server(
    request: pytest.FixtureRequest, tryton: RunningTryton, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, AgentOpsProcess]:
    folder = tmp_path_factory.mktemp("audit-story")
    connectors = folder / "connectors.yaml"
    section = tryton.settings().model_dump(mode="json")
    section["api_key"] = tryton.facts.rest_key
    connectors.write_text(yaml.safe_dump({"tryton": section}))
    env = {
        "AGENT_OPS_AUTH": "keys",
        "AGENT_OPS_AUTH_SECRET": SECRET,
        "AGENT_OPS_CONNECTORS_CONFIG": str(connectors),
        "AGENT_OPS_POLL_SECONDS": "0.2",
    }
    return request.param, start(request, tmp_path_factory, "audit-story", env, config=ROOT_CONFIG)


def _line(row: dict[str, Any]) -> str:
    """A row as the README shows it: the export's JSON without the hashes."""
    shown = {k: v for k, v in row.items() if k not in ("hash", "prev_hash", "tenant")}
    return json.dumps(shown, separators=(",", ":"))


async def test_one_invoice_reads_as_a_story_from_receipt_to_payment_by_a_named_approver(
    invoice_server: tuple[str, AgentOpsProcess],
) -> None:
    backend, server = invoice_server
    tenant = f"acme-{backend}"
    clerk = create_key(server, tenant, "operator", "--name", "clerk")
    maria = create_key(server, tenant, "approver", "--name", "maria")
    assert server.url is not None
    as_clerk = get_client(url=server.url, api_key=clerk["key"])
    as_maria = get_client(url=server.url, api_key=maria["key"])

    number, po, lines = BILLED[backend]
    ubl = to_ubl(Invoice.model_validate(invoice(number, po, lines)))
    document = {
        "filename": f"{number}.xml",
        "media_type": "application/xml",
        "data_b64": base64.b64encode(ubl).decode(),
    }
    thread = await as_clerk.threads.create(metadata={"invoice": number})
    tid = thread["thread_id"]
    paused = await as_clerk.runs.wait(tid, "invoice_approval", input={"document": document})
    assert paused["status"] == "needs_review", paused.get("reason")
    (interrupt,) = paused["__interrupt__"]
    answer = {"type": "accept", "by": "someone-else"}  # the payload's `by` is not believed
    done = await as_maria.runs.wait(tid, "invoice_approval", command={"resume": answer})
    assert done["status"] == "paid", done.get("reason")

    records = exported(server, tenant)
    print("\n" + "\n".join(_line(r) for r in records if r["action"] != "key.create"))
    story = [r for r in records if r["resource_id"] == tid or r["detail"].get("thread_id") == tid]
    clerk_id, maria_id = f"key:{clerk['key_id']}", f"key:{maria['key_id']}"
    told = [(r["action"], r["actor"], r["detail"].get("actor_name")) for r in story]
    assert told == [
        ("thread.create", clerk_id, "clerk"),
        ("run.create", clerk_id, "clerk"),  # received: the document's digest is the row's
        ("run.interrupted", "system", None),
        ("run.resume", maria_id, "maria"),
        # The resumed run's writes to Tryton, each at the tool permissions' door, acting for
        # maria, who resumed it (agent_ops/governance/tools.py).
        ("tool.call", maria_id, None),
        ("tool.call", maria_id, None),
        ("tool.call", maria_id, None),
        ("run.success", "system", None),
    ]
    received, paused_row, approved, *writes, finished = story[1:]
    assert [(w["resource_id"], w["outcome"], w["via"]) for w in writes] == [
        ("tryton:tryton_book_supplier_invoice", "ok", "run"),
        ("tryton:tryton_post_invoice", "ok", "run"),
        ("tryton:tryton_pay_invoice", "ok", "run"),
    ]
    assert {w["detail"]["run_id"] for w in writes} == {approved["resource_id"]}
    assert all(w["digest"] and w["detail"]["output_digest"] for w in writes)
    assert writes[2]["detail"]["idempotency_key"].startswith("agent-ops/payment/")
    assert received["digest"] and received["detail"]["request"].endswith("/runs/wait")
    # Extracted from the e-invoice, matched against the order, paused for a person.
    assert paused_row["detail"]["steps"] == ["receive", "extract", "check", "ask"]
    assert paused_row["detail"]["interrupts"] == [interrupt["id"]]
    assert paused_row["detail"]["asks"] == ["approve_invoice"]
    # Approved by maria (her key, her role, not the payload's name), answering that pause.
    assert approved["actor_role"] == "approver" and approved["via"] == "key"
    assert approved["detail"]["decision"] == "accept"
    assert approved["detail"]["interrupts"] == [interrupt["id"]]
    # Then booked, posted and paid in Tryton, the vendor's ledger read and the vendor told.
    assert finished["detail"]["steps"] == ["review", "book", "post", "pay", "ledger", "notify"]
    assert finished["resource_id"] == approved["resource_id"]
    assert [r["seq"] for r in story] == sorted(r["seq"] for r in story)
    review = next(d for d in done["decisions"] if d["step"] == "review")
    assert review["by"] == maria_id  # the authenticated caller, not the payload's `by`

    verified = audit_cli(server, "verify", "--tenant", tenant)
    print(verified.stdout)
    assert verified.returncode == 0, verified.stderr
    assert f"intact: {len(records)} records in 1 tenant chain(s)" in verified.stdout
