"""Model decisions in the audit chain, through a real server with API keys on both backends: a
run whose graph asks the offline model (SmolLM2 behind the local llama.cpp server) leaves one
`model.decision` row per decision-log entry, in the run's tenant, naming the run, and the chain
still verifies."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from agent_ops.governance import audit
from tests.governance.conftest import BACKENDS, SECRET, create_key, start
from tests.governance.test_audit import audit_cli, exported
from tests.servers import AgentOpsProcess

pytestmark = pytest.mark.llama

ROOT = Path(__file__).parents[2]
# A short answer keeps the small model quick on two shared cores; the rest is the default.
MODELS = {
    "roles": {"respond": {"prompt": "respond", "timeout_seconds": 300}},
    "providers": {"local:smollm2": {"max_tokens": 8, "temperature": 0.0}},
}


@pytest.fixture(scope="session", params=BACKENDS)
def model_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AgentOpsProcess:
    folder = tmp_path_factory.mktemp(f"models-{request.param}")
    (folder / "models.json").write_text(json.dumps(MODELS))
    env = {
        "AGENT_OPS_AUTH": "keys",
        "AGENT_OPS_AUTH_SECRET": SECRET,
        "AGENT_OPS_MODELS_CONFIG": str(folder / "models.json"),
        "AGENT_OPS_PROMPTS_DIR": str(ROOT / "prompts"),
        "AGENT_OPS_PUBLIC_URL": "https://ops.example.test/",
    }
    return start(request, tmp_path_factory, "decisions", env)


async def test_each_model_decision_of_a_run_is_a_record_of_the_audit_chain(
    model_server: AgentOpsProcess,
) -> None:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    key = create_key(model_server, tenant, "operator")["key"]
    assert model_server.url is not None
    client = get_client(url=model_server.url, api_key=key)
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "deps", input={"question": "Where is parcel 42?"})
    await client.runs.join(tid, run["run_id"])
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"
    logged = await client.http.get(f"/threads/{tid}/runs/{run['run_id']}/decisions")
    assert isinstance(logged, list) and logged, logged

    records = exported(model_server, tenant)
    rows = [r for r in records if r["action"] == "model.decision"]
    assert [r["resource_id"] for r in rows] == [d["decision_id"] for d in logged]
    for row, decision in zip(rows, logged, strict=True):
        assert row["actor"] == f"run:{run['run_id']}" and row["tenant"] == tenant
        assert row["resource_type"] == "decision" and row["outcome"] == "ok"
        detail = row["detail"]
        assert detail["run_id"] == run["run_id"] and detail["thread_id"] == tid
        assert (detail["role"], detail["model"]) == ("respond", decision["model"])
        assert detail["provider"] == "local:smollm2" and detail["outcome"] == "answered"
        assert detail["input_hash"] == decision["input_hash"]
        assert row["digest"] == audit.digest(decision["output"])
    # In the chain between the run's start and its end, as it happened.
    actions = [r["action"] for r in records]
    assert actions.index("run.create") < actions.index("model.decision")
    assert actions.index("model.decision") < actions.index("run.success")
    verified = audit_cli(model_server, "verify", "--tenant", tenant)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"audit trail intact: {len(records)} records" in verified.stdout
