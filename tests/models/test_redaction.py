"""Personal identifiers masked before text leaves for an external model: real-world formats,
checksums that keep look-alikes (invoice numbers, amounts, bad IBANs) in place, and a role call
whose request, as a scripted OpenAI-compatible server received it, holds only placeholders."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph_sdk import get_client
from pydantic import BaseModel

from agent_ops.errors import ConfigError, ModelUnavailable
from agent_ops.models import MemoryDecisions, Models, ModelsConfig, load_models_config
from agent_ops.models.redact import PII_KINDS, Redaction, hkid_valid
from agent_ops.settings import Settings
from tests.models.fakes import ScriptedChat, closed_port, scripted_chat
from tests.servers import AgentOpsProcess

GRAPHS = Path(__file__).parent / "graphs" / "langgraph.json"


def masked(text: str, *kinds: str) -> tuple[str, Redaction]:
    redaction = Redaction(frozenset(kinds or PII_KINDS))  # type: ignore[arg-type]
    return redaction.text(text), redaction


@pytest.mark.parametrize(
    ("text", "placeholder", "value"),
    [
        ("Call me on +852 9123 4567 tomorrow.", "[PHONE_1]", "+852 9123 4567"),
        ("Rufen Sie +49 30 1234567 an.", "[PHONE_1]", "+49 30 1234567"),
        ("Écrivez à marie.dupont@exemple.fr svp", "[EMAIL_1]", "marie.dupont@exemple.fr"),
        ("IBAN: DE89 3704 0044 0532 0130 00 EUR", "[IBAN_1]", "DE89 3704 0044 0532 0130 00"),
        ("iban GB82WEST12345698765432.", "[IBAN_1]", "GB82WEST12345698765432"),
        ("Paid with 4111 1111 1111 1111 on 6 Dec", "[CARD_1]", "4111 1111 1111 1111"),
        ("Amex 3782-822463-10005 charged", "[CARD_1]", "3782-822463-10005"),
        ("HKID A123456(3) attached", "[NATIONAL_ID_1]", "A123456(3)"),
        ("身份证 11010519491231002X 已核对", "[NATIONAL_ID_1]", "11010519491231002X"),
    ],
)
def test_identifiers_in_real_world_formats_become_typed_placeholders(
    text: str, placeholder: str, value: str
) -> None:
    out, redaction = masked(text)

    assert placeholder in out and value not in out
    assert redaction.values == {placeholder: value}
    assert out.replace(placeholder, value) == text


@pytest.mark.parametrize(
    "text",
    [
        "IBAN DE89 3704 0044 0532 0130 01 (one digit off)",  # mod-97 fails
        "Invoice INV-2026-0042 over 1.234,56 EUR, due 2026-12-31",
        "Reference 4111111111111112 and order 1234567890123456",  # Luhn fails / no card network
        "HKID A123456(4) is mistyped",  # check digit fails
        "Tel. 030 1234567 (no country code: not found without a region)",
        "Total: 12.345.678,90 CHF; qty 3; PO 4500012345",
    ],
)
def test_look_alikes_that_fail_their_checksum_are_left_alone(text: str) -> None:
    out, redaction = masked(text)

    assert out == text
    assert redaction.summary() == {}


def test_a_phone_region_setting_also_masks_that_countrys_numbers_without_a_country_code() -> None:
    redaction = Redaction(
        frozenset({"phone"}), Settings(redact_phone_region="HK").redact_phone_region
    )

    out = redaction.text("Call 9123 4567 or +49 30 1234567; invoice 4500012345 over 1.234,56")

    assert out == "Call [PHONE_1] or [PHONE_2]; invoice 4500012345 over 1.234,56"


def test_an_unknown_phone_region_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="AGENT_OPS_REDACT_PHONE_REGION='XX'"):
        Settings(redact_phone_region="XX")


def test_hkid_check_digit_follows_the_published_scheme() -> None:
    assert hkid_valid("A", "123456", "3")
    assert hkid_valid("C", "668668", "E") is False  # check is a digit or A
    assert hkid_valid("XA", "000000", "3") is False
    # A=10*9 + B=11*8 + 9*7 + 8*6 + 7*5 + 6*4 + 5*3 + 4*2 = 371; 371 % 11 = 8; 11 - 8 = 3
    assert [c for c in "0123456789A" if hkid_valid("AB", "987654", c)] == ["3"]
    # space=36*9 + G=16*8 + 77 = 529; 529 % 11 = 1; 11 - 1 = 10, written A
    assert [c for c in "0123456789A" if hkid_valid("G", "123456", c)] == ["A"]


def test_one_value_keeps_one_placeholder_and_only_configured_kinds_are_masked() -> None:
    out, redaction = masked(
        "From a@b.example to c@d.example, cc a@b.example; phone +852 9123 4567", "email"
    )

    assert out == "From [EMAIL_1] to [EMAIL_2], cc [EMAIL_1]; phone +852 9123 4567"
    assert redaction.summary() == {"email": 3}


def test_an_unknown_kind_in_the_models_config_is_a_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("roles:\n  extract:\n    redact: [email, passport]\n")

    with pytest.raises(ConfigError, match="roles.extract.redact: .*'passport' is not one of email"):
        load_models_config(path)


async def test_rules_providers_and_roles_with_redact_off_see_the_values() -> None:
    seen: list[str] = []

    def rule(messages: Sequence[BaseMessage]) -> str:
        seen.append(messages[-1].text)
        return "ok"

    text = "Mail jane.doe@example.com"
    with scripted_chat(["fine"]) as fake:
        config = ModelsConfig.model_validate(
            {
                "roles": {
                    "classify": {"providers": ["rules:echo"]},
                    "respond": {"providers": ["openai:fake"], "redact": []},
                },
                "providers": {"openai:fake": {"base_url": fake.url}},
            }
        )
        sink = MemoryDecisions()
        models = Models(config, Settings(), sink)
        models.register_rule("echo", rule)
        await models.role("classify").ainvoke(text)
        await models.role("respond").ainvoke(text)

    assert seen == [text]
    assert fake.requests[0]["messages"][-1]["content"] == text
    assert all(d.output is not None and "redacted" not in d.output for d in sink.decisions)


async def test_earlier_tool_calls_and_tool_results_in_the_conversation_are_masked_too() -> None:
    conversation = [
        HumanMessage("Find the payee of INV-0042"),
        AIMessage("", tool_calls=[{"id": "c1", "name": "lookup", "args": {"q": "jane@x.example"}}]),
        ToolMessage("IBAN GB82 WEST 1234 5698 7654 32, mail jane@x.example", tool_call_id="c1"),
    ]
    with scripted_chat(["It is Jane, [EMAIL_1]"]) as fake:
        config = ModelsConfig.model_validate(
            {
                "roles": {"respond": {"providers": ["openai:fake"]}},
                "providers": {"openai:fake": {"base_url": fake.url}},
            }
        )
        answer = (
            await Models(config, Settings(), MemoryDecisions())
            .role("respond")
            .ainvoke(conversation)
        )

    human, call, result = fake.requests[0]["messages"]
    assert json.loads(call["tool_calls"][0]["function"]["arguments"]) == {"q": "[EMAIL_1]"}
    assert result["content"] == "IBAN [IBAN_1], mail [EMAIL_1]"
    assert answer.text == "It is Jane, jane@x.example"


async def test_a_failed_attempt_still_records_what_was_masked_before_it_left() -> None:
    config = ModelsConfig.model_validate(
        {
            "roles": {"respond": {"providers": ["openai:down"], "retries": 0}},
            "providers": {"openai:down": {"base_url": f"http://127.0.0.1:{closed_port()}/v1"}},
        }
    )
    sink = MemoryDecisions()
    with pytest.raises(ModelUnavailable):
        await (
            Models(config, Settings(), sink)
            .role("respond", on_failure="error")
            .ainvoke("IBAN GB82WEST12345698765432, HKID A123456(3)")
        )

    (decision,) = sink.decisions
    assert decision.error is not None
    assert decision.output == {"redacted": {"iban": 1, "national_id": 1}}


class Payee(BaseModel):
    name: str
    iban: str
    email: str


async def test_the_request_an_external_endpoint_receives_holds_placeholders_and_the_log_says_so() -> (
    None
):
    document = (
        "Invoice INV-0042, total 1.234,56 EUR. Pay to Jane Doe, IBAN DE89 3704 0044 0532 0130 00,"
        " questions to jane.doe@example.com or +852 9123 4567. Card on file 4111 1111 1111 1111."
    )
    reply = '{"name": "Jane Doe", "iban": "[IBAN_1]", "email": "[EMAIL_1]"}'
    with scripted_chat([reply]) as fake:
        config = ModelsConfig.model_validate(
            {
                "roles": {"extract": {"providers": ["openai:fake"], "retries": 0}},
                "providers": {"openai:fake": {"base_url": fake.url}},
            }
        )
        sink = MemoryDecisions()
        payee = await (
            Models(config, Settings(), sink)
            .role("extract")
            .with_structured_output(Payee)
            .ainvoke(document)
        )

    (request,) = fake.requests
    sent = json.dumps(request)
    for value in ("DE89 3704", "jane.doe@example.com", "9123 4567", "4111 1111"):
        assert value not in sent
    (user,) = [m["content"] for m in request["messages"] if m["role"] == "user"]
    assert user == (
        "Invoice INV-0042, total 1.234,56 EUR. Pay to Jane Doe, IBAN [IBAN_1],"
        " questions to [EMAIL_1] or [PHONE_1]. Card on file [CARD_1]."
    )
    # The answer's placeholders are the values again for the step that asked.
    assert payee == Payee(
        name="Jane Doe", iban="DE89 3704 0044 0532 0130 00", email="jane.doe@example.com"
    )
    (decision,) = sink.decisions
    assert decision.output is not None
    assert decision.output["redacted"] == {"card": 1, "email": 1, "iban": 1, "phone": 1}
    assert "jane.doe" not in json.dumps(decision.output["redacted"])


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AgentOpsProcess, ScriptedChat]]:
    folder = tmp_path_factory.mktemp(f"redact-{request.param}")
    if request.param == "postgres":
        url = request.getfixturevalue("pg_cluster").create_database(f"r_{uuid.uuid4().hex}")
    else:
        url = f"sqlite:///{folder}/agent-ops.db"
    with scripted_chat(["We will refund [IBAN_1] and write to [EMAIL_1]."] * 4) as chat:
        config = folder / "models.yaml"
        config.write_text(
            "roles:\n"
            "  respond:\n"
            '    providers: ["openai:remote"]\n'
            "    retries: 0\n"
            f"providers:\n  openai:remote: {{base_url: '{chat.url}', model: gpt-4o}}\n"
        )
        server = AgentOpsProcess(
            url,
            folder,
            config=GRAPHS,
            env={"AGENT_OPS_MODELS_CONFIG": str(config), "AGENT_OPS_REDACT_PHONE_REGION": "HK"},
            name=f"redact-{request.param}",
        )
        server.start()
        try:
            yield server, chat
        finally:
            server.stop()


async def test_a_served_run_sends_placeholders_and_its_decision_log_names_what_was_masked(
    served: tuple[AgentOpsProcess, ScriptedChat],
) -> None:
    server, chat = served
    client = get_client(url=server.url)
    thread = await client.threads.create()
    question = (
        "Please refund to DE89 3704 0044 0532 0130 00; I am jane.doe@example.com, 9123 4567,"
        " HKID A123456(3). Invoice INV-0042 was 1.234,56 EUR."
    )
    run = await client.runs.create(
        thread["thread_id"],
        "model_reply",
        input={"messages": [{"role": "user", "content": question}]},
    )
    done = await client.runs.join(thread["thread_id"], run["run_id"])

    sent = chat.requests[-1]["messages"][-1]["content"]
    assert sent == (
        "Please refund to [IBAN_1]; I am [EMAIL_1], [PHONE_1], HKID [NATIONAL_ID_1]."
        " Invoice INV-0042 was 1.234,56 EUR."
    )
    assert done["messages"][-1]["content"] == (
        "We will refund DE89 3704 0044 0532 0130 00 and write to jane.doe@example.com."
    )
    (decision,) = await client.http.get(
        f"/threads/{thread['thread_id']}/runs/{run['run_id']}/decisions"
    )
    assert decision["output"]["redacted"] == {"email": 1, "iban": 1, "national_id": 1, "phone": 1}
