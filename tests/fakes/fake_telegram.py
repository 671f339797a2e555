"""A fake Telegram Bot API on 127.0.0.1 for tests: `POST /bot<token>/<method>` with Telegram's JSON envelope.

Speaks enough of the real API for python-telegram-bot to run unchanged against it: getMe, sendMessage,
getUpdates (long polling with offset), deleteWebhook, setMyCommands, getMyCommands. Requests may be form-encoded
(what python-telegram-bot sends), JSON or query parameters.

Failure modes a test can switch on:
  rate_limit(n, retry_after)  the next n sendMessage calls answer 429 {"ok":false,"error_code":429,
                              "parameters":{"retry_after":N}} (python-telegram-bot raises RetryAfter)
  fail(n, status)             the next n sendMessage calls answer `status` with an error envelope
  server_errors(True)         every request answers 502 Bad Gateway (HTML, like a proxy) until switched off
  down() / up()               close / reopen the listening socket on the same port (connection refused)
  response_delay_s = s        sendMessage stores the message, then answers s seconds later
Users talk to the bot with push_message(user_id, "/status"); what the bot sent is in .sent.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tests.fakes.loopback import LoopbackServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "123456789:AAHfakeFAKEfakeFAKEfakeFAKEfake_token-1"
BOT_ID = 123456789


@dataclass(frozen=True)
class SentMessage:
    message_id: int
    chat_id: str
    text: str
    params: dict[str, Any]
    ts: float


class FakeTelegram(LoopbackServer):
    name = "fake-telegram"

    def __init__(self, token: str = DEFAULT_TOKEN, bot_username: str = "tracer_test_bot",
                 max_long_poll_s: float = 5.0) -> None:
        super().__init__()
        self.token = token
        self.bot_username = bot_username
        self.max_long_poll_s = max_long_poll_s
        self.sent: list[SentMessage] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._scripted: list[tuple[int, dict[str, Any]]] = []  # queued sendMessage failures: (status, envelope)
        self._server_errors = False
        self.response_delay_s = 0.0  # sendMessage stores the message, then answers this late (a slow/cut-off reply)

    # -- lifecycle (LoopbackServer) -------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    def _on_stop(self) -> None:
        with self._lock:
            self._lock.notify_all()  # release long-polling getUpdates

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- failure injection -----------------------------------------------------------------------------
    def rate_limit(self, times: int = 1, retry_after: int = 1) -> None:
        with self._lock:
            for _ in range(times):
                self._scripted.append((429, {"ok": False, "error_code": 429,
                                             "description": f"Too Many Requests: retry after {retry_after}",
                                             "parameters": {"retry_after": retry_after}}))

    def fail(self, times: int = 1, status: int = 500, description: str = "Internal Server Error") -> None:
        with self._lock:
            for _ in range(times):
                self._scripted.append((status, {"ok": False, "error_code": status, "description": description}))

    def server_errors(self, on: bool) -> None:
        self._server_errors = on

    # -- the user side ---------------------------------------------------------------------------------
    def push_message(self, user_id: int, text: str, *, chat_id: int | None = None, username: str | None = None,
                     date: float | None = None) -> int:
        """A person sends `text` to the bot; returns the update_id."""
        update_id = next(self._update_ids)
        first = text.split()[0] if text.split() else ""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(date if date is not None else time.time()),
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}",
                     **({"username": username} if username else {})},
            "chat": {"id": chat_id if chat_id is not None else user_id, "type": "private",
                     "first_name": f"user{user_id}"},
            "text": text,
        }
        if first.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(first)}]
        with self._lock:
            self._updates.append({"update_id": update_id, "message": message})
            self._lock.notify_all()
        return update_id

    def texts(self, chat_id: str | int | None = None) -> list[str]:
        with self._lock:
            return [m.text for m in self.sent if chat_id is None or m.chat_id == str(chat_id)]

    def calls(self, method: str) -> int:
        with self._lock:
            return sum(1 for m, _ in self.requests if m == method)

    # -- the API ---------------------------------------------------------------------------------------
    def _api(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append((method, params))
        if method == "getMe":
            return 200, _ok({"id": BOT_ID, "is_bot": True, "first_name": "Tracer", "username": self.bot_username,
                             "can_join_groups": True, "can_read_all_group_messages": False,
                             "supports_inline_queries": False})
        if method in ("deleteWebhook", "setMyCommands", "close", "logOut"):
            return 200, _ok(True)
        if method == "getMyCommands":
            return 200, _ok([])
        if method == "sendMessage":
            return self._send_message(params)
        if method == "getUpdates":
            return 200, _ok(self._get_updates(params))
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _send_message(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._scripted:
                return self._scripted.pop(0)
        chat_id, text = params.get("chat_id"), params.get("text")
        if chat_id in (None, ""):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
        if not text:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        if len(str(text)) > 4096:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        chat = str(chat_id)
        numeric = int(chat) if chat.lstrip("-").isdigit() else -1001
        with self._lock:
            message_id = next(self._message_ids)
            self.sent.append(SentMessage(message_id, chat, str(text), dict(params), time.time()))
        if self.response_delay_s:
            time.sleep(self.response_delay_s)
        return 200, _ok({"message_id": message_id, "date": int(time.time()), "text": str(text),
                         "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tracer", "username": self.bot_username},
                         "chat": {"id": numeric, "type": "private" if numeric > 0 else "supergroup",
                                  **({"title": "alerts"} if numeric < 0 else {"first_name": "op"})}})

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), self.max_long_poll_s)
        deadline = time.monotonic() + timeout
        with self._lock:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed ones go away
            while not self._updates and self._server is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            return list(self._updates[:limit])


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _decode(value: str) -> Any:
    """python-telegram-bot JSON-encodes non-string parameters inside form fields."""
    if value[:1] in ("{", "[") or value in ("true", "false"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _make_handler(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection, so down() really cuts clients off

        def log_message(self, *args: object) -> None:
            pass

        def _params(self) -> dict[str, Any]:
            url = urlsplit(self.path)
            params: dict[str, Any] = {k: _decode(v) for k, v in parse_qsl(url.query)}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if raw and ctype == "application/json":
                params.update(json.loads(raw))
            elif raw and ctype == "application/x-www-form-urlencoded":
                params.update({k: _decode(v) for k, v in parse_qsl(raw.decode(), keep_blank_values=True)})
            return params

        def _handle(self) -> None:
            path = urlsplit(self.path).path
            params = self._params()
            if fake._server_errors:
                body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                self._send(502, body, "text/html")
                return
            prefix, _, method = path.lstrip("/").rpartition("/")
            if not prefix.startswith("bot"):
                self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            if prefix[3:] != fake.token:
                self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                return
            status, payload = fake._api(method, params)
            self._json(status, payload)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _handle
        do_POST = _handle

    return Handler
