"""The embedded model server, run as a script in its own process: llama-cpp-python's OpenAI app,
serving on a listening socket that agent-ops bound and handed over, plus one route that counts a
chat request's tokens.

llama-cpp-python's server sends no usage in streamed answers (it ignores `stream_options`), so
`POST /extras/chat/usage` counts them: the prompt through the model's own chat handler, stopped
where generation would begin (the exact token list a completion of that request evaluates), and
the streamed text through the model's tokenizer.

Run as a file, not as `-m agent_ops...`, so the child imports llama_cpp and nothing of agent-ops.
"""

from __future__ import annotations

import argparse
import socket
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI
from llama_cpp import Llama, llama_chat_format
from llama_cpp.server.app import create_app, get_llama_proxy
from llama_cpp.server.model import LlamaProxy
from llama_cpp.server.settings import ModelSettings, ServerSettings
from pydantic import BaseModel


class ChatUsageRequest(BaseModel):
    """A chat request as sent to /v1/chat/completions, and the text its answer streamed."""

    model: str | None = None
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    completion: str = ""


class ChatUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class _PromptReady(Exception):
    def __init__(self, tokens: list[int]) -> None:
        super().__init__("prompt ready")
        self.tokens = tokens


class _PromptOnly:
    """A Llama whose completion stops before the first token, handing back the prompt tokens."""

    def __init__(self, llama: Llama) -> None:
        self._llama = llama

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llama, name)

    def create_completion(self, prompt: list[int] | str, **_: Any) -> None:
        if isinstance(prompt, str):
            raise TypeError("the chat handler sent a text prompt; only token prompts are counted")
        raise _PromptReady(prompt)


def prompt_tokens(llama: Llama, request: ChatUsageRequest) -> int:
    """Count the tokens a chat completion of `request` evaluates as its prompt."""
    # The handler Llama.create_chat_completion would pick, in its order.
    handler = (
        llama.chat_handler
        or llama._chat_handlers.get(llama.chat_format or "")
        or llama_chat_format.get_chat_completion_handler(llama.chat_format or "")
    )
    # llama_cpp's handler types want its TypedDicts; the request carries the same JSON (and
    # where llama_cpp is not installed, as in CI's lint step, the types are Any).
    call: Any = handler
    try:
        call(
            llama=_PromptOnly(llama),
            messages=request.messages,
            tools=request.tools,
            tool_choice=request.tool_choice,
        )
    except _PromptReady as ready:
        return len(ready.tokens)
    raise RuntimeError(f"chat format {llama.chat_format!r} answered without a completion")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="listening socket to serve on")
    parser.add_argument("--model", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--context", type=int, required=True)
    args = parser.parse_args()

    listener = socket.socket(fileno=args.fd)
    host, port = listener.getsockname()[:2]
    app: FastAPI = create_app(
        # A new request must not cut a stream in progress short (the library's default does).
        server_settings=ServerSettings(host=host, port=port, interrupt_requests=False),
        model_settings=[
            ModelSettings(
                model=args.model,
                model_alias=args.alias,
                n_threads=args.threads,
                n_ctx=args.context,
                verbose=False,
            )
        ],
    )

    @app.post("/extras/chat/usage")
    def chat_usage(
        request: ChatUsageRequest, proxy: Annotated[LlamaProxy, Depends(get_llama_proxy)]
    ) -> ChatUsage:
        llama = proxy(request.model)
        completion = llama.tokenize(request.completion.encode(), add_bos=False, special=True)
        return ChatUsage(
            prompt_tokens=prompt_tokens(llama, request), completion_tokens=len(completion)
        )

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[listener])


if __name__ == "__main__":
    main()
