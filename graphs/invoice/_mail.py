"""Mail from the invoice workflow: the outcome to the sender, review requests to reviewers.

Every mail has an idempotency key, so a resumed or retried step sends it once. A mail that cannot
be sent never stops the invoice: the step records that it was not sent and why.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from langgraph.config import get_store

from agent_ops.errors import ConfigError, ConnectorError, InvalidInput
from graphs.invoice._env import connections
from tools.mail import Mailer, SendEmail, mailbox

log = logging.getLogger("agent_ops.graphs.invoice")


def unsent(to: str | None, subject: str, reason: str) -> dict[str, Any]:
    """The record of a mail that was not sent, and why, for the run's state."""
    return {"to": to, "subject": subject, "sent": False, "reason": reason, "at": _now()}


async def send(
    to: list[str], subject: str, body: str, key: str, *, in_reply_to: str | None = None
) -> dict[str, Any]:
    """Send one mail through the chosen channel; return its record for the run's state.

    Recipients are bare addresses or `Name <address>`; one that is neither is an InvalidInput
    naming it, and nothing is sent."""
    try:
        to = [str(mailbox(address)) for address in to]
    except ValueError as exc:
        raise InvalidInput(f"mail {subject!r} not sent: {exc}") from exc
    reach = connections()
    if reach.dry_run:
        return unsent(", ".join(to), subject, "dry run: not sent")
    record: dict[str, Any] = {"to": ", ".join(to), "subject": subject, "sent": False}
    if reach.notify is not None:
        record.update(await reach.notify(record["to"], subject, body, key))
        record["sent"] = True
    elif reach.smtp is None:
        return unsent(
            record["to"], subject, "no mail server is configured (connectors config mail.smtp)"
        )
    else:
        store = get_store()
        if store is None:
            raise ConfigError("sending mail needs the server's store, to send each mail once")
        mail = SendEmail(
            to=to, subject=subject, body=body, idempotency_key=key, in_reply_to=in_reply_to
        )
        try:
            sent = await Mailer(reach.smtp, store).send(mail)
        except ConnectorError as exc:  # after the connector's own retries
            log.warning("mail %r to %s not sent: %s", subject, record["to"], exc)
            record["reason"] = f"not sent: {exc}"
        else:
            record.update(
                message_id=sent.message_id,
                sent=True,
                already_sent=sent.already_sent,
                resent=sent.resent,
            )
    record["at"] = _now()
    return record


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
