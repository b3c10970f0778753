"""Mail connector: IMAP in (each new message starts one run) and SMTP out (`send_email`).

`MailPoller(settings.imap)` is an intake source for the trigger runtime; `Mailer(settings.smtp,
store)` sends mail idempotently and `mail_tools(mailer)` wraps it for graphs. `parse_mail` turns
raw bytes into the intake payload. A local server for tests and the demo: `tools.mail.devserver`.
"""

from tools.mail._imap import ImapSession, MailPoller
from tools.mail._message import parse_mail
from tools.mail._settings import ImapSettings, MailSettings, SmtpSettings
from tools.mail._smtp import SENT_NAMESPACE, Address, Mailer, SendEmail, SentMail, mail_tools

__all__ = [
    "SENT_NAMESPACE",
    "Address",
    "ImapSession",
    "ImapSettings",
    "MailPoller",
    "MailSettings",
    "Mailer",
    "SendEmail",
    "SentMail",
    "SmtpSettings",
    "mail_tools",
    "parse_mail",
]
