"""A real HTTP server on 127.0.0.1 for tests, with a route table set per test.

Use the ``feed_server`` fixture (import it into a conftest, or list this
module in ``pytest_plugins``)::

    def test_x(feed_server):
        feed_server.route("/feed.xml", body=b"<rss .../>", headers={"ETag": '"v1"'})
        feed_server.redirect("/old", "/feed.xml", status=301)
        url = feed_server.url("/old")
        ...
        assert feed_server.requests_to("/feed.xml")[0].headers["if-none-match"] == '"v1"'

A route answers with ``status``, ``headers`` and ``body`` after waiting
``delay`` seconds before the status line; with ``drip`` > 0 the body goes
out ``chunk`` bytes at a time, ``drip`` seconds apart; with ``close`` the
connection is closed once the body is written (with a Content-Length larger
than the body, a transfer broken off); with ``header_drip`` > 0 filler
header lines go out one at a time, ``header_drip`` seconds apart, for as
long as the server runs (headers that never end). ``handler`` (a
function of the ``RecordedRequest``) returns the ``Route`` to answer with,
for answers that depend on the request. Unknown paths answer 404.
``connections`` counts the connections clients opened.
Content-Length is set from the body unless the route sets it. Every request
is recorded, with lower-cased header names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    drip: float = 0.0  # seconds between body chunks; 0 sends the body at once
    chunk: int = 1  # bytes per drip
    handler: Callable[[RecordedRequest], Route] | None = None
    close: bool = False  # close the connection after the body
    header_drip: float = 0.0  # seconds between endless filler header lines


class FeedServer:
    """A threaded loopback HTTP server; see the module docstring."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(
        self,
        path: str,
        status: int = 200,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        delay: float = 0.0,
        drip: float = 0.0,
        chunk: int = 1,
        handler: Callable[[RecordedRequest], Route] | None = None,
        close: bool = False,
        header_drip: float = 0.0,
    ) -> str:
        """Answer ``path`` as a ``Route`` with these fields; returns the full URL."""
        self.routes[path] = Route(
            status, body, headers or {}, delay, drip, chunk, handler, close, header_drip
        )
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        """Answer ``path`` with a redirect to ``to`` (a path or any URL)."""
        return self.route(path, status=status, headers={"Location": to})

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: eight clients connecting at once
    # overflowed it, and a dropped connection attempt is retried only after 1 s.
    request_queue_size = 128


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            server.connections += 1
            super().setup()

        def do_GET(self) -> None:
            request = RecordedRequest(
                "GET", self.path, {k.lower(): v for k, v in self.headers.items()}
            )
            server.requests.append(request)
            route = server.routes.get(self.path, Route(status=404, body=b"not found"))
            if route.handler is not None:
                route = route.handler(request)
            try:
                self._answer(route)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up, as tests intend

        def _answer(self, route: Route) -> None:
            if route.delay and server.stopping.wait(route.delay):
                return
            if route.header_drip:
                self.wfile.write(f"HTTP/1.1 {route.status} OK\r\n".encode())
                line = 0
                while not server.stopping.wait(route.header_drip):
                    self.wfile.write(f"X-Filler-{line}: still coming\r\n".encode())
                    self.wfile.flush()
                    line += 1
                return
            self.send_response(route.status)
            names = {name.lower() for name in route.headers}
            for name, value in route.headers.items():
                self.send_header(name, value)
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.close_connection = route.close
            if not route.drip:
                self.wfile.write(route.body)
                return
            for start in range(0, len(route.body), route.chunk):
                self.wfile.write(route.body[start : start + route.chunk])
                self.wfile.flush()
                if server.stopping.wait(route.drip):
                    return

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started ``FeedServer``, stopped after the test."""
    server = FeedServer()
    server.start()
    yield server
    server.stop()
