"""Why a model attempt failed, in one word and one sentence, for log lines and decision records.

An exception from a chat endpoint rarely says it itself: an asyncio timeout has no text, and an
OpenAI client's `Connection error.` hides whether the port refused or the server died mid-answer
in its cause chain. `failure_of` reads the chain once, so every log line and every decision says
which it was (see `ModelErrorKind`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import ModuleType

from pydantic import ValidationError

from agent_ops.errors import validation_text
from agent_ops.models._queue import QueueTimeout
from agent_ops.types import ModelErrorKind

# By class name: the OpenAI client raises from httpx or from its fork httpx2, which share names.
_REFUSED = {"ConnectError", "ConnectionRefusedError"}
_DROPPED = {
    "RemoteProtocolError",
    "ReadError",
    "WriteError",
    "ConnectionResetError",
    "BrokenPipeError",
    "IncompleteRead",
}
_TIMED_OUT = {"ReadTimeout", "WriteTimeout", "PoolTimeout", "ConnectTimeout"}


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt: its kind and a sentence that is never empty."""

    kind: ModelErrorKind
    text: str

    def __str__(self) -> str:
        return self.text


class EmptyAnswer(ValueError):
    """The model answered with nothing where a value was required."""


class NotJson(ValueError):
    """The model's answer (or a tool call's arguments) does not parse as JSON."""


def describe(exc: BaseException) -> str:
    """`Type: text`, or the type alone when the exception has no text."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in seen:
        seen.append(link)
        link = link.__cause__ or link.__context__
    return seen


def _with_cause(exc: BaseException) -> str:
    """The exception, and the innermost cause that says more (e.g. `[Errno 111] ...`)."""
    chain = _chain(exc)
    text = describe(exc)
    if len(chain) > 1:
        text += f" ({describe(chain[-1])})"
    return text


def loaded_openai() -> ModuleType | None:
    """The `openai` package once something has imported it, else None.

    It is imported with the first endpoint client (`providers._chat_openai`), not at start-up
    (about 0.45 s), and only such a client raises its errors: before that, no exception is one.
    An import still under way in another thread is waited for, not read half-made."""
    if "openai" not in sys.modules:
        return None
    import openai

    return openai


def is_timeout(exc: BaseException) -> bool:
    """How a time limit on an answer shows: ours (asyncio) or the HTTP client's, whichever
    fires first."""
    openai = loaded_openai()
    return isinstance(exc, TimeoutError) or (
        openai is not None and isinstance(exc, openai.APITimeoutError)
    )


def failure_of(exc: BaseException, *, timeout: float, setting: str) -> Failure:
    """Classify an attempt's exception; `timeout` and `setting` name the generation bound."""
    if isinstance(exc, QueueTimeout):
        return Failure("queue_timeout", f"queue timeout: {exc}")
    names = {type(link).__name__ for link in _chain(exc)}
    if is_timeout(exc) or names & _TIMED_OUT:
        return Failure(
            "generation_timeout",
            f"generation timeout: no complete answer within {timeout:g}s of generation ({setting})",
        )
    openai = loaded_openai()
    if openai is not None and isinstance(exc, openai.APIStatusError):
        # The client's message carries the body the endpoint sent ("Error code: 500 - {...}").
        return Failure("http_status", f"HTTP {exc.status_code}: {describe(exc)}")
    if names & _REFUSED:
        return Failure("connection_refused", f"connection refused: {_with_cause(exc)}")
    if names & _DROPPED:
        return Failure(
            "server_died",
            f"server died: the connection closed before the answer ended: {_with_cause(exc)}",
        )
    return Failure("error", _with_cause(exc))


def invalid_answer(exc: Exception) -> Failure:
    """Classify an answer that arrived but did not validate; the text carries the validation."""
    text = f"invalid answer: {validation_text(exc, top='answer')}"
    if isinstance(exc, EmptyAnswer):
        return Failure("empty_answer", text)
    if isinstance(exc, NotJson):
        return Failure("invalid_json", text)
    if isinstance(exc, ValidationError) and any(
        error["type"] == "json_invalid" for error in exc.errors()
    ):
        return Failure("invalid_json", text)
    return Failure("schema_invalid", text)
