"""Mail connector: IMAP in (each new message starts one run) and SMTP out (`send_email`).

`MailPoller(settings.imap)` is an intake source for the trigger runtime; `Mailer(settings.smtp,
store)` sends mail idempotently and `mail_tools(mailer)` wraps it for graphs. `parse_mail` turns
raw bytes into the intake payload; `mailbox`/`mailboxes` read addresses as vendors write them
(`Acme Ltd <billing@acme.example>`). A local server for tests and the demo: `tools.mail.devserver`.
"""

from tools.mail._address import Address, Mailbox, mailbox, mailboxes
from tools.mail._imap import ImapSession, MailPoller
from tools.mail._message import parse_mail
from tools.mail._settings import ImapSettings, MailSettings, SmtpSettings
from tools.mail._smtp import SENT_NAMESPACE, Mailer, SendEmail, SentMail, mail_tools

__all__ = [
    "SENT_NAMESPACE",
    "Address",
    "ImapSession",
    "ImapSettings",
    "MailPoller",
    "MailSettings",
    "Mailbox",
    "Mailer",
    "SendEmail",
    "SentMail",
    "SmtpSettings",
    "mail_tools",
    "mailbox",
    "mailboxes",
    "parse_mail",
]
