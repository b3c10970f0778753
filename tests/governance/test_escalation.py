"""Escalation on a timer, through real servers with API keys on both backends: an approval that
waits too long escalates although nobody looks at it, once however many processes sweep, with
one signed notice posted to a local receiver and one mail in the local mail server, both through
the outbox; afterwards only the escalation role may approve. Every decision's record carries the
approval policy's version."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from standardwebhooks import Webhook

from agent_ops.governance import ApprovalPolicy
from agent_ops.settings import Settings
from tests.governance.conftest import BACKENDS, SECRET, refusal, start, tenant_clients
from tests.governance.test_audit import audit_cli, exported
from tests.servers import AgentOpsProcess
from tests.triggers.receiver import Post, Receiver
from tools.mail import ImapSession
from tools.mail.devserver import MailDevServer

HOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes, base64
EXPIRE_SECONDS = 3
BOSS = "boss@example.org"
POLICY = {
    "AGENT_OPS_APPROVAL_FOUR_EYES": "approve",
    "AGENT_OPS_APPROVAL_EXPIRE_HOURS": str(EXPIRE_SECONDS / 3600),
    "AGENT_OPS_APPROVAL_POLICY_VERSION": "v7",
}


@dataclass
class Escalating:
    """Two server processes on one database, sweeping for overdue approvals every 0.3 s, the
    receiver their escalation notices are posted to and the mail server they are mailed through."""

    servers: list[AgentOpsProcess]
    receiver: Receiver
    mail: MailDevServer

    def posts_for(self, thread_id: str) -> list[Post]:
        return [p for p in self.receiver.posts if json.loads(p.body)["thread_id"] == thread_id]

    def mails_for(self, thread_id: str) -> list[EmailMessage]:
        session = ImapSession(self.mail.imap_settings(BOSS)).open()
        try:
            session.select("INBOX")
            found = [session.fetch(uid) for uid in session.uids()]
        finally:
            session.close()
        mails = [message_from_bytes(raw, policy=policy.default) for raw, _ in filter(None, found)]
        return [m for m in mails if thread_id in str(m["Subject"])]


@pytest.fixture(scope="session", params=BACKENDS)
def escalating(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Escalating]:
    folder = tmp_path_factory.mktemp(f"escalate-mail-{request.param}")
    with Receiver() as receiver, MailDevServer() as mail:
        smtp = mail.smtp_settings("agent-ops@example.org").model_dump(mode="json")
        (folder / "connectors.json").write_text(json.dumps({"mail": {"smtp": smtp}}))
        env = {
            "AGENT_OPS_AUTH": "keys",
            "AGENT_OPS_AUTH_SECRET": SECRET,
            **POLICY,
            "AGENT_OPS_APPROVAL_ESCALATE_WEBHOOK": receiver.url,
            "AGENT_OPS_APPROVAL_ESCALATE_MAIL": BOSS,
            "AGENT_OPS_CONNECTORS_CONFIG": str(folder / "connectors.json"),
            "AGENT_OPS_APPROVAL_ESCALATE_SWEEP_SECONDS": "0.3",
            "AGENT_OPS_WEBHOOK_SECRET": HOOK_SECRET,
            "AGENT_OPS_WEBHOOK_ALLOW_PRIVATE": "true",
        }
        first = start(request, tmp_path_factory, "escalate", env)
        second = AgentOpsProcess(
            first.database_url,
            tmp_path_factory.mktemp(f"escalate-second-{request.param}"),
            env=first.extra_env,
            name=f"escalate-second-{request.param}",
        )
        second.start()
        request.addfinalizer(second.stop)
        yield Escalating([first, second], receiver, mail)


def _expected_version() -> str:
    settings = Settings(
        approval_four_eyes=["approve"],
        approval_expire_hours=EXPIRE_SECONDS / 3600,
        approval_policy_version="v7",
    )
    return ApprovalPolicy.from_settings(settings).version


async def test_an_unread_overdue_approval_escalates_once_with_one_signed_notice_and_one_mail(
    escalating: Escalating,
) -> None:
    server = escalating.servers[0]
    tenant, (clerk, anna, boss), (_, anna_id, boss_id) = tenant_clients(
        server, "operator", "approver", "admin"
    )
    tid = (await clerk.threads.create())["thread_id"]
    paused = await clerk.runs.wait(tid, "approve", input={"messages": []})
    interrupt_id = paused["__interrupt__"][0]["id"]
    # Nobody reads the thread or the approvals inbox: the sweeps of both processes find it.
    for _ in range(300):
        if escalating.posts_for(tid) and escalating.mails_for(tid):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # several more sweeps of both processes: nothing more is sent
    posts = escalating.posts_for(tid)
    assert len(posts) == 1, [p.body for p in posts]
    post = posts[0]
    # Signed as the run webhooks are (Standard Webhooks); verify raises on a bad signature.
    notice = Webhook(HOOK_SECRET).verify(post.body, post.headers)
    assert notice["type"] == "approval.escalated" and notice["tenant_id"] == tenant
    assert notice["interrupts"] == [interrupt_id] and notice["escalated_to"] == "admin"
    assert notice["graph_id"] == "approve" and notice["waited_hours"] > EXPIRE_SECONDS / 3600
    assert notice["policy_version"] == _expected_version()
    records = exported(server, tenant)
    escalated = [r for r in records if r["action"] == "approval.escalated"]
    assert len(escalated) == 1, escalated
    record = escalated[0]
    assert record["actor"] == "system" and record["resource_id"] == tid
    assert record["detail"]["notified"] == {
        escalating.receiver.url: post.headers["webhook-id"],
        f"mailto:{BOSS}": post.headers["webhook-id"] + "_mail",
    }
    # One mail to the escalation address, through the mail connector, saying what waits.
    mails = escalating.mails_for(tid)
    assert len(mails) == 1, [m["Subject"] for m in mails]
    assert mails[0]["Subject"].startswith("[agent-ops] approval escalated to admin: thread ")
    text = mails[0].get_content()
    assert f"interrupts: ['{interrupt_id}']" in text and f"tenant_id: {tenant}" in text
    assert record["detail"]["policy_version"] == _expected_version()
    # From now on only the escalation role may approve (the existing expiry rule).
    detail = await refusal(anna.runs.wait(tid, "approve", command={"resume": {"type": "accept"}}))
    assert f"escalated to role 'admin'; {anna_id!r} has role 'approver'" in detail
    done = await boss.runs.wait(tid, "approve", command={"resume": {"type": "accept"}})
    assert f"'by': '{boss_id}'" in done["messages"][-1]["content"]
    records = exported(server, tenant)
    assert [r["action"] for r in records].count("approval.escalated") == 1
    verified = audit_cli(server, "verify", "--tenant", tenant)
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_every_approval_decision_records_the_policy_version(
    escalating: Escalating,
) -> None:
    server = escalating.servers[1]
    tenant, (maria, boss), (maria_id, boss_id) = tenant_clients(server, "approver", "admin")
    tid = (await maria.threads.create())["thread_id"]
    await maria.runs.wait(tid, "approve", input={"messages": []})
    detail = await refusal(maria.runs.wait(tid, "approve", command={"resume": {"type": "accept"}}))
    assert f"{maria_id!r} owns thread {tid}" in detail
    await boss.runs.wait(tid, "approve", command={"resume": {"type": "accept"}})
    version = _expected_version()
    assert version.startswith("v7 sha256:") and len(version) == len("v7 sha256:") + 16
    records = exported(server, tenant)
    decisions = {
        r["action"]: r
        for r in records
        if r["action"] in ("approval.refused", "run.resume", "approval.escalated")
    }
    assert decisions["approval.refused"]["actor"] == maria_id
    assert decisions["run.resume"]["actor"] == boss_id
    for action in ("approval.refused", "run.resume"):
        assert decisions[action]["detail"]["policy_version"] == version, action


def test_the_policy_version_names_the_rules_and_changes_with_them() -> None:
    base = ApprovalPolicy(four_eyes=frozenset({"pay", "approve"}), expire_hours=4)
    same = ApprovalPolicy(four_eyes=frozenset({"approve", "pay"}), expire_hours=4.0)
    assert base.version == same.version and base.version.startswith("sha256:")
    assert ApprovalPolicy(four_eyes=frozenset({"pay"}), expire_hours=4).version != base.version
    assert ApprovalPolicy(four_eyes=base.four_eyes, expire_hours=5).version != base.version
    labelled = ApprovalPolicy(four_eyes=base.four_eyes, expire_hours=4, label="2026-12 board")
    assert labelled.version == f"2026-12 board {base.version}"
    # Where notices go is not a rule: pointing them elsewhere keeps the version.
    moved = ApprovalPolicy(
        four_eyes=base.four_eyes, expire_hours=4, escalate_webhook="https://hooks.example/x"
    )
    assert moved.version == base.version
