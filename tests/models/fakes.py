"""Outside-the-system stand-ins for model endpoints: a scripted OpenAI-compatible server on a
loopback port (a tiny real HTTP server speaking chat completions, streamed or not, that can also
answer late or with an HTTP error) and a port nobody listens on."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def closed_port() -> int:
    """A loopback port with no listener (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@dataclass(frozen=True)
class Status:
    """An HTTP error answer: its status code and JSON body."""

    code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Late:
    """An answer sent after `seconds`."""

    seconds: float
    answer: str | dict[str, Any]


Answer = str | dict[str, Any] | Status | Late
"""A reply's text, a whole assistant message (e.g. one with `tool_calls`), an HTTP error, or one
of these sent late."""


class ScriptedChat:
    """Answers POST /v1/chat/completions with the next scripted answer; keeps each request."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        self.url = ""

    def next(self, body: dict[str, Any]) -> Answer:
        self.requests.append(body)
        answer = self.answers.pop(0)
        if isinstance(answer, Late):
            time.sleep(answer.seconds)
            return answer.answer
        return answer

    def reply(self, body: dict[str, Any], answer: str | dict[str, Any]) -> dict[str, Any]:
        message = answer if isinstance(answer, dict) else {"role": "assistant", "content": answer}
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                }
            ],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }


@contextmanager
def scripted_chat(answers: list[Answer]) -> Iterator[ScriptedChat]:
    """Serve `answers` in order on 127.0.0.1 (ephemeral port) for the duration of the block."""
    script = ScriptedChat(answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length))
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            answer = script.next(body)
            if isinstance(answer, Status):
                self.send_json(answer.code, answer.body)
                return
            reply = script.reply(body, answer)
            if body.get("stream"):
                self.stream(reply, (body.get("stream_options") or {}).get("include_usage"))
                return
            self.send_json(200, reply)

        def send_json(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def stream(self, reply: dict[str, Any], include_usage: bool) -> None:
            """Send a text reply as OpenAI streams it: a chunk per word, then the usage if asked."""
            (choice,) = reply["choices"]
            words = choice["message"]["content"].split(" ")
            deltas = [
                {"index": 0, "delta": {"content": w + " "}, "finish_reason": None} for w in words
            ]
            deltas.append({"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]})
            chunks = [{"choices": [d], "usage": None} for d in deltas]
            if include_usage:
                chunks.append({"choices": [], "usage": reply["usage"]})
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for chunk in chunks:
                base = {k: reply[k] for k in ("id", "created", "model")}
                event = base | {"object": "chat.completion.chunk"} | chunk
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    script.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()
