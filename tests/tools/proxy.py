"""A loopback HTTP proxy that fails chosen requests on purpose: the network between us and Tryton.

`fail("GET", 1, mode="503")` answers the next GET with a 503 HTML page without forwarding it;
`mode="reset"` closes the connection without an answer instead. Every request is counted by
method, forwarded or not, so a test can say how often a connector tried. `hold("POST", "/x")`
keeps the next matching request until `release()`, then forwards it (to stage a crash mid-call).
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

Mode = Literal["503", "reset"]


class FlakyProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.seen: Counter[str] = Counter()
        self.last_headers: dict[str, str] = {}
        self._failures: dict[str, list[Mode]] = {}
        self._lock = threading.Lock()
        self._hold: tuple[str, str] | None = None
        self.holding = threading.Event()  # a held request has arrived
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def fail(self, method: str, times: int = 1, *, mode: Mode = "503") -> None:
        with self._lock:
            self._failures.setdefault(method, []).extend([mode] * times)

    def hold(self, method: str, path_part: str) -> None:
        """Keep the next `method` request whose path holds `path_part` until `release()`."""
        with self._lock:
            self._hold = (method, path_part)
            self.holding.clear()
            self._released.clear()

    def release(self) -> None:
        self._released.set()

    def _should_hold(self, method: str, path: str) -> bool:
        with self._lock:
            if self._hold and self._hold[0] == method and self._hold[1] in path:
                self._hold = None
                return True
            return False

    def _next_failure(self, method: str) -> Mode | None:
        with self._lock:
            self.seen[method] += 1
            pending = self._failures.get(method)
            return pending.pop(0) if pending else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.last_headers = dict(self.headers.items())
                failure = proxy._next_failure(self.command)
                if proxy._should_hold(self.command, self.path):
                    proxy.holding.set()
                    proxy._released.wait(timeout=120)
                if failure == "reset":
                    self.close_connection = True
                    self.connection.close()
                    return
                if failure == "503":
                    page = b"<html><title>503 Service Unavailable</title><p>busy</p></html>"
                    self.send_response(503)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                upstream = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=30
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                try:
                    self.send_response(response.status)
                    for key, value in response.getheaders():
                        if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the caller went away (a test killed it); the upstream call happened

            do_GET = do_POST = do_PUT = do_DELETE = _relay

        return Handler

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
