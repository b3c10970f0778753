"""Review requests: the policy's reviewers are mailed when an invoice waits for them, once per
review round, through the real SMTP path too; a mail server that is down does not stop the pause."""

from __future__ import annotations

import imaplib
from datetime import UTC, datetime

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from agent_ops.deps import Deps
from agent_ops.errors import InvalidInput
from graphs.invoice import Connections, build
from tests.invoice.samples import PUBLIC_URL, Outbox, invoice, run_config
from tests.tryton_fixtures import RunningTryton
from tools.mail import parse_mail
from tools.mail.devserver import MailDevServer, free_port

AP = "ap-team@buyer.example"


def over_priced(number: str) -> dict[str, object]:
    return invoice(number, "PO-00002", [("GLOVE-NIT", "Nitrile gloves", 10, "7.50")])


async def test_reviewers_are_asked_once_per_round_and_the_sender_gets_the_outcome(
    graph: Pregel, outbox: Outbox
) -> None:
    config = run_config(reviewers=[AP, "controller@buyer.example"])
    thread = config["configurable"]["thread_id"]
    state = await graph.ainvoke(
        {"invoice": over_priced("BHP-9101"), "sender": "v@bh.example"}, config
    )

    assert state["status"] == "needs_review"
    [(to, subject, body, key)] = outbox.sent
    assert to == f"{AP}, controller@buyer.example"
    assert subject == "Review needed: Invoice BHP-9101 from Blue Harbor Packaging: EUR 75.00"
    assert "price_mismatch" in body and "+15.4%" in body
    assert f"/threads/{thread}/runs/wait" in body and '"resume": {"type": "accept"' in body
    assert "Answers offered: accept, edit, ignore, response." in body
    assert key == f"agent-ops/review/{thread}/1"
    assert state["notifications"] == [
        {
            "to": to,
            "subject": subject,
            "sent": True,
            "message_id": f"<{key}>",
            "at": state["notifications"][0]["at"],
            "purpose": "review",
        }
    ]

    # The policy holds for the invoice's life: runs that resume it do not need to repeat it.
    config = run_config()
    config["configurable"]["thread_id"] = thread
    # An answer that cannot be used pauses again in the same round: no second mail.
    await graph.ainvoke(Command(resume={"type": "edit", "args": {"currency": "euro"}}), config)
    assert len(outbox.sent) == 1
    # An edit that is checked again and still needs a person asks again.
    still_high = {
        "lines": [{**over_priced("x")["lines"][0], "unit_price": "7.00", "amount": "70.00"}],  # type: ignore[index]
        "subtotal": "70.00",
        "total": "70.00",
    }
    await graph.ainvoke(Command(resume={"type": "edit", "args": still_high}), config)
    assert [sent[3] for sent in outbox.sent] == [key, f"agent-ops/review/{thread}/2"]
    assert outbox.sent[1][1].endswith("EUR 70.00")

    state = await graph.ainvoke(Command(resume={"type": "response", "args": "wrong price"}), config)
    assert state["status"] == "rejected"
    assert [(n["purpose"], n["to"]) for n in state["notifications"]] == [
        ("review", to),
        ("review", to),
        ("outcome", "v@bh.example"),
    ]
    assert outbox.sent[2][1] == "Invoice BHP-9101 rejected" and "wrong price" in outbox.sent[2][2]


async def test_without_reviewers_nobody_is_mailed_and_the_state_says_why(
    graph: Pregel, outbox: Outbox
) -> None:
    state = await graph.ainvoke({"invoice": over_priced("BHP-9102")}, run_config())
    assert state["status"] == "needs_review" and outbox.sent == []
    [record] = state["notifications"]
    assert record["purpose"] == "review" and record["sent"] is False and record["to"] is None
    assert (
        record["subject"] == "Review needed: Invoice BHP-9102 from Blue Harbor Packaging: EUR 75.00"
    )
    assert record["reason"].startswith(
        "nobody was mailed: the invoice policy names no reviewers (set "
        "configurable.invoice_policy.reviewers on the trigger, assistant or run)"
    )


async def test_the_headline_shows_only_what_was_read_and_names_what_was_not(
    outbox: Outbox, deps: Deps
) -> None:
    graph = build().compile(checkpointer=InMemorySaver(), interrupt_before=["check"])
    graph = graph.with_config(deps.bind())
    config = run_config(reviewers=[AP])
    read = over_priced("BHP-9106")
    await graph.ainvoke({"invoice": read, "sender": "Blue Harbor AR <ar@bh.example>"}, config)
    # As a reading by a model leaves it: the number and total failed their checks, the vendor
    # was never found, the currency was read with little confidence.
    await graph.aupdate_state(
        config,
        {
            "extraction": {
                "method": "model",
                "source": "local:smollm2",
                "confidence": {"invoice_number": 0.12, "currency": 0.5, "total": 0.12},
                "problems": [
                    "invoice_number: 'BHP-9106' is not written in the document",
                    "total: 75.00 but subtotal 75.00 + tax 0.00 = 75.00 is not written",
                ],
            }
        },
    )
    state = await graph.ainvoke(None, config)
    headline = (
        "Invoice sent by Blue Harbor AR <ar@bh.example>; could not be read: invoice number "
        "(fails a check), vendor (not found), currency (confidence 0.50), total (fails a check)"
    )
    [(_, subject, body, _)] = outbox.sent
    assert subject == f"Review needed: {headline}"
    for value in ("BHP-9106", "Blue Harbor Packaging", "EUR 75.00"):
        assert value not in subject
    assert "Sent by: Blue Harbor AR <ar@bh.example>" in body
    (request,) = state["__interrupt__"][0].value
    assert request["description"].startswith(f"**{headline}**")

    nothing = build().compile(checkpointer=InMemorySaver()).with_config(deps.bind())
    empty = {"kind": "mail", "key": "k", "received_at": "2026-12-04T00:00:00Z", "documents": []}
    empty["sender"] = '"Blue Harbor, AR" <ar@bh.example>'
    state = await nothing.ainvoke({"intake": empty}, run_config(reviewers=[AP]))
    assert state["sender"] == "ar@bh.example" and state["sender_name"] == "Blue Harbor, AR"
    assert outbox.sent[-1][1] == (
        "Review needed: A document arrived but no invoice could be read from it "
        "(sent by Blue Harbor, AR <ar@bh.example>)"
    )


async def test_a_reviewer_that_is_not_an_address_is_refused_naming_the_field(
    graph: Pregel, outbox: Outbox
) -> None:
    with pytest.raises(InvalidInput, match=r"invoice_policy is invalid: reviewers\.0.*'ap-team'"):
        await graph.ainvoke({"invoice": over_priced("BHP-9103")}, run_config(reviewers=["ap-team"]))


def _inbox(server: MailDevServer, user: str) -> list[bytes]:
    with imaplib.IMAP4(server.host, server.imap_port) as box:
        box.login(user, server.password)
        box.select("INBOX")
        _, data = box.search(None, "ALL")
        return [box.fetch(n, "(RFC822)")[1][0][1] for n in data[0].split()]  # type: ignore[index]


async def test_the_request_goes_out_by_smtp_and_a_dead_mail_server_does_not_stop_the_pause(
    tryton: RunningTryton,
) -> None:
    graph = build().compile(checkpointer=InMemorySaver(), store=InMemoryStore())

    def reaching(mail: MailDevServer) -> Pregel:
        smtp = mail.smtp_settings("agent-ops@buyer.example")
        connections = Connections(tryton=tryton.settings(), smtp=smtp)
        return graph.with_config(Deps(connectors=connections, public_url=PUBLIC_URL).bind())

    with MailDevServer() as mail:
        config = run_config(reviewers=[AP])
        state = await reaching(mail).ainvoke({"invoice": over_priced("BHP-9104")}, config)
        [record] = state["notifications"]
        assert record["sent"] is True and record["already_sent"] is False
        [raw] = _inbox(mail, AP)
        sent = parse_mail(raw, key="x", received_at=datetime.now(UTC))
        assert sent.subject.startswith("Review needed: Invoice BHP-9104")
        assert sent.message_id == record["message_id"] and "price_mismatch" in sent.body

    down = MailDevServer(imap_port=free_port(), smtp_port=free_port())  # never started
    state = await reaching(down).ainvoke(
        {"invoice": over_priced("BHP-9105")}, run_config(reviewers=[AP])
    )
    assert state["status"] == "needs_review" and state["__interrupt__"]
    [record] = state["notifications"]
    assert record["sent"] is False and "not sent" in record["reason"]
    assert str(down.smtp_port) in record["reason"]
