"""Lifecycle shared by the fake services: serve on 127.0.0.1 on a free port, stop, go down (connection
refused) and come back up on the same port, so clients see a real outage and a real return."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, TypeVar

from tests.system_helpers import wait_for

S = TypeVar("S", bound="LoopbackServer")


class LoopbackServer:
    name = "fake"

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def _on_stop(self) -> None:
        """Hook: wake anything waiting on the server (long polls)."""

    def start(self: S) -> S:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name=f"{self.name}-{self.port}").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._on_stop()

    def down(self) -> None:
        """Connection refused until up()."""
        self.stop()

    def up(self) -> None:
        if self._server is None:
            self.start()

    def wait_for(self: S, predicate: Callable[[S], bool], timeout: float = 10.0) -> bool:
        """Poll `predicate(self)` until it holds or `timeout` seconds pass."""
        return bool(wait_for(lambda: predicate(self), timeout, interval=0.02))

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
