"""The connectors config, and triggers wired by `agent-ops serve` in two real processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import yaml

from agent_ops.errors import ConfigError
from tests.intake.conftest import GRAPHS, send_mail, wait_until
from tests.servers import AgentOpsProcess
from tools.config import load_connectors_config
from tools.mail.devserver import MailDevServer


def write(tmp_path: Path, config: object) -> Path:
    path = tmp_path / "connectors.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_full_config_builds_one_trigger_per_source(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "mail": {
                "imap": {"host": "imap.example.org", "user": "in@example.org", "password": "p"},
                "smtp": {"host": "smtp.example.org", "sender": "in@example.org"},
            },
            "folders": {"scans": {"path": str(tmp_path), "poll_seconds": 2}},
            "triggers": {"mail": "invoice_approval", "folder:scans": "invoice_approval"},
        },
    )
    config = load_connectors_config(path)
    assert config.mail is not None and config.mail.imap is not None
    assert config.mail.imap.port == 993 and config.mail.imap.tls == "ssl"
    assert config.mail.imap.password.get_secret_value() == "p"
    assert "p'" not in repr(config)  # the password stays out of logs
    triggers = config.build_triggers()
    by_name = {t.source.name: t for t in triggers}
    assert sorted(by_name) == ["folder:scans", "mail"]
    assert {t.assistant_id for t in triggers} == {"invoice_approval"}
    assert by_name["folder:scans"].source.poll_seconds == 2
    assert by_name["mail"].config is None


def test_a_trigger_may_carry_the_run_config_its_items_start_with(tmp_path: Path) -> None:
    policy = {"configurable": {"invoice_policy": {"reviewers": ["ap@example.org"]}}}
    path = write(
        tmp_path,
        {
            "folders": {"scans": {"path": str(tmp_path)}},
            "triggers": {"folder:scans": {"assistant": "invoice_approval", "config": policy}},
        },
    )
    [trigger] = load_connectors_config(path).build_triggers()
    assert trigger.assistant_id == "invoice_approval" and trigger.config == policy


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"erp": {}},
            "unknown section 'erp'; known sections: tryton, sql, openapi, mcp, mail, folders, "
            "triggers",
        ),
        ({"tryton": {"url": "http://erp/"}}, "tryton.database: Field required"),
        ({"sql": {"dw": {"url": "mysql://x"}}}, "sql.dw"),
        ({"triggers": {"mail": "x"}}, "trigger source 'mail' is not configured"),
        ({"triggers": {"folder:nope": "x"}}, "trigger source 'folder:nope' is not configured"),
        ({"mail": {"imap": {"host": "h", "user": "u"}}}, "mail.imap.password: Field required"),
        ({"mail": {"imap": {"host": "h", "user": "u", "password": "p", "tls": "yes"}}}, "tls"),
        ({"folders": {"a:b": {"path": "/tmp"}}}, "folder name 'a:b'"),
        (
            {"folders": {"s": {"path": "/tmp"}}, "triggers": {"folder:s": {"config": {}}}},
            "triggers.folder:s.*assistant: Field required",
        ),
        (
            {
                "folders": {"s": {"path": "/tmp"}},
                "triggers": {"folder:s": {"assistant": "a", "config": {"configurable": [1]}}},
            },
            "config.configurable must be a mapping",
        ),
        ([1, 2], "must be a mapping of sections"),
    ],
)
def test_a_bad_config_is_refused_naming_the_problem(
    tmp_path: Path, config: object, message: str
) -> None:
    with pytest.raises(ConfigError, match="connectors config .*" + message.replace("(", r"\(")):
        load_connectors_config(write(tmp_path, config))


def test_an_unreadable_config_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nothere.yaml: cannot read it"):
        load_connectors_config(tmp_path / "nothere.yaml")
    (tmp_path / "bad.yaml").write_text("mail: [unclosed")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_connectors_config(tmp_path / "bad.yaml")


@pytest.mark.slow
async def test_two_servers_with_triggers_start_one_run_per_mail_and_file(
    database_url: str, mail_server: MailDevServer, mailbox: str, tmp_path: Path
) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    path = write(
        tmp_path,
        {
            "mail": {
                "imap": {
                    "host": mail_server.host,
                    "port": mail_server.imap_port,
                    "tls": "none",
                    "user": mailbox,
                    "password": mail_server.password,
                    "poll_seconds": 0.2,
                }
            },
            "folders": {"scans": {"path": str(scans), "poll_seconds": 0.2}},
            "triggers": {"mail": "intake_report", "folder:scans": "intake_report"},
        },
    )
    env = {"AGENT_OPS_CONNECTORS_CONFIG": str(path), "AGENT_OPS_POLL_SECONDS": "0.2"}
    servers = [
        AgentOpsProcess(database_url, tmp_path, config=GRAPHS, env=env, name=f"serve-{n}")
        for n in range(2)
    ]
    await asyncio.gather(*(asyncio.to_thread(s.start) for s in servers))
    try:
        for n in range(5):
            send_mail(mail_server, mailbox, subject=f"Invoice {n}")
        for n in range(3):
            (scans / f"scan-{n}.pdf").write_bytes(f"%PDF-1.4 scan {n}".encode())
        async with httpx.AsyncClient(base_url=str(servers[0].url)) as client:

            async def all_taken_in() -> bool:
                items = (await client.get("/intake", params={"limit": 100})).json()
                return len(items) == 8 and all(i["settled_at"] for i in items)

            await wait_until(all_taken_in, within=30)
            items = (await client.get("/intake", params={"limit": 100})).json()
            assert len({i["run_id"] for i in items}) == 8
            assert sorted(i["source"] for i in items) == ["folder:scans"] * 3 + ["mail"] * 5
            for item in items:
                run = await client.get(f"/threads/{item['thread_id']}/runs/{item['run_id']}/join")
                assert run.json()["report"]["kind"] in ("mail", "folder")
            triggers = (await client.get("/intake/triggers")).json()
            assert {t["source"] for t in triggers} == {"mail", "folder:scans"}
            assert all(t["failures"] == 0 for t in triggers)
            mail_only = (await client.get("/intake", params={"source": "mail"})).json()
            assert len(mail_only) == 5
    finally:
        for server in servers:
            server.stop()
    assert sorted(p.name for p in (scans / "done").iterdir()) == [f"scan-{n}.pdf" for n in range(3)]
