"""A webhook receiver on loopback for the outbound webhook tests: it records every POST and
answers from a script (then 200), and can hold its first request open to stand for a receiver
that hangs while a delivering process dies."""

from __future__ import annotations

import asyncio
import http.server
import threading
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Post:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Start with `with Receiver(...) as hook:`; `hook.url` is where to point a run."""

    def __init__(self, answers: tuple[int, ...] = (), *, hold_first: bool = False) -> None:
        self.posts: list[Post] = []
        self._answers = list(answers)
        self.release = threading.Event()
        self.lock = threading.Lock()
        if not hold_first:
            self.release.set()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    receiver.posts.append(
                        Post({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    first = len(receiver.posts) == 1
                    status = receiver._answers.pop(0) if receiver._answers else 200
                if first:
                    receiver.release.wait(60)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a held request whose sender was killed has no one to answer

        self._server = Server(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/done"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    async def wait_for(self, count: int, within: float = 20.0) -> list[Post]:
        """Return the posts once `count` have arrived (AssertionError after `within` seconds)."""
        for _ in range(int(within / 0.05)):
            if len(self.posts) >= count:
                return list(self.posts)
            await asyncio.sleep(0.05)
        raise AssertionError(f"{len(self.posts)} webhook posts arrived, not {count}")


def verified(post: Post, secret: str) -> Any:
    """The body of a post whose Standard Webhooks signature checks out with `secret`."""
    return Webhook(secret).verify(post.body, post.headers)
