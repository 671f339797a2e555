"""A fake Discord webhook endpoint on 127.0.0.1 for tests: `POST /api/webhooks/<id>/<token>[?wait=true]`.

As Discord does: with wait=true the answer is 200 and the created message (with its snowflake id), without it 204
and no body; an unknown id/token is 404 {"message": "Unknown Webhook", "code": 10015}; an empty message is 400.

Failure modes a test can switch on:
  rate_limit(n, retry_after)  the next n posts answer 429 with {"message": "You are being rate limited.",
                              "retry_after": s, "global": false} and Retry-After / X-RateLimit-* headers
  fail(n, status)             the next n posts answer `status` with a JSON error
  server_errors(True)         every post answers 502 with an HTML page (Cloudflare-style) until switched off
  down() / up()               close / reopen the listening socket on the same port (connection refused)
"""
from __future__ import annotations

import itertools
import json
import math
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tests.fakes.loopback import LoopbackServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_ID = "112233445566778899"
DEFAULT_TOKEN = "fAkE-WebHook_t0ken.abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class WebhookMessage:
    id: str
    content: str
    username: str | None
    payload: dict[str, Any]
    wait: bool
    ts: float


class FakeDiscord(LoopbackServer):
    name = "fake-discord"

    def __init__(self, webhook_id: str = DEFAULT_ID, token: str = DEFAULT_TOKEN) -> None:
        super().__init__()
        self.webhook_id = webhook_id
        self.token = token
        self.messages: list[WebhookMessage] = []
        self.requests: list[tuple[str, dict[str, str], dict[str, Any] | None]] = []
        self._lock = threading.Lock()
        self._snowflakes = itertools.count(1_200_000_000_000_000_000)
        self._scripted: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self._server_errors = False

    # -- lifecycle (LoopbackServer) -------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/webhooks/{self.webhook_id}/{self.token}"

    # -- failure injection -----------------------------------------------------------------------------
    def rate_limit(self, times: int = 1, retry_after: float = 0.5, is_global: bool = False) -> None:
        headers = {"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Limit": "5",
                   "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                   "X-RateLimit-Bucket": "fakebucket", "X-RateLimit-Scope": "shared" if not is_global else "global",
                   "Via": "1.1 google"}
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        with self._lock:
            self._scripted += [(429, headers, body)] * times

    def fail(self, times: int = 1, status: int = 500, message: str = "Internal Server Error") -> None:
        with self._lock:
            self._scripted += [(status, {}, {"message": message, "code": 0})] * times

    def server_errors(self, on: bool) -> None:
        self._server_errors = on

    # -- inspection ------------------------------------------------------------------------------------
    def contents(self) -> list[str]:
        with self._lock:
            return [m.content for m in self.messages]

    def posts(self) -> int:
        with self._lock:
            return len(self.requests)

    # -- the API ---------------------------------------------------------------------------------------
    def _execute(self, webhook_id: str, token: str, query: dict[str, str],
                 payload: dict[str, Any] | None) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        with self._lock:
            self.requests.append((f"{webhook_id}/{token}", query, payload))
            if webhook_id != self.webhook_id or token != self.token:
                return 404, {}, {"message": "Unknown Webhook", "code": 10015}
            if self._scripted:
                return self._scripted.pop(0)
        if payload is None:
            return 400, {}, {"message": "Cannot send an empty message", "code": 50006}
        content = payload.get("content") or ""
        if not content and not payload.get("embeds"):
            return 400, {}, {"message": "Cannot send an empty message", "code": 50006}
        if len(content) > 2000:
            return 400, {}, {"message": "Invalid Form Body", "code": 50035,
                             "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                                 "message": "Must be 2000 or fewer in length."}]}}}
        wait = query.get("wait", "false").lower() in ("true", "1")
        with self._lock:
            snowflake = str(next(self._snowflakes))
            self.messages.append(WebhookMessage(snowflake, content, payload.get("username"), payload, wait, time.time()))
        if not wait:
            return 204, {}, None
        return 200, {}, {"id": snowflake, "type": 0, "content": content, "channel_id": "998877665544332211",
                         "webhook_id": self.webhook_id, "embeds": payload.get("embeds") or [],
                         "author": {"id": self.webhook_id, "username": payload.get("username") or "Captain Hook",
                                    "bot": True, "discriminator": "0000"},
                         "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime()),
                         "attachments": [], "mentions": [], "mention_roles": [], "pinned": False,
                         "mention_everyone": False, "tts": False, "flags": 0}


def _make_handler(fake: FakeDiscord) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if fake._server_errors:
                self._send(502, {"Content-Type": "text/html"},
                           b"<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>")
                return
            parts = url.path.strip("/").split("/")
            if len(parts) != 4 or parts[:2] != ["api", "webhooks"]:
                self._json(404, {}, {"message": "404: Not Found", "code": 0})
                return
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                self._json(400, {}, {"message": "The request body contains invalid JSON.", "code": 50109})
                return
            status, headers, body = fake._execute(parts[2], parts[3], dict(parse_qsl(url.query)), payload)
            if body is None:
                self._send(status, headers, b"")
            else:
                self._json(status, headers, body)

        def _json(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
            self._send(status, {**headers, "Content-Type": "application/json"}, json.dumps(body).encode())

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

    return Handler
