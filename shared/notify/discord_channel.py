"""Discord alert channel through discord-webhook: POST to the webhook with ?wait=true so success means Discord
stored the message (and gave its id); 429 retry_after honoured; a broken webhook holds the queue, not drops it."""
from __future__ import annotations

import json

import httpx
from discord_webhook import AsyncDiscordWebhook

from shared.notify.models import OutgoingMessage, SendResult
from shared.notify.render import fit

MAX_TEXT = 2000


def _retry_after(response: httpx.Response) -> float | None:
    """Discord sends retry_after (seconds, float) in the JSON body and Retry-After (seconds) as a header."""
    try:
        value = response.json().get("retry_after")
        if value is not None:
            return float(value)
    except (ValueError, AttributeError):
        pass
    header = response.headers.get("Retry-After")
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body)[:300]
    except ValueError:
        return response.text[:120].replace("\n", " ")


class DiscordChannel:
    def __init__(self, webhook_url: str, *, timeout_s: float = 15.0, username: str = "Tracer",
                 name: str = "discord") -> None:
        self.name = name
        self._url = webhook_url
        self._timeout = timeout_s
        self._username = username

    def _webhook(self, text: str) -> AsyncDiscordWebhook:
        return AsyncDiscordWebhook(url=self._url, content=fit(text, MAX_TEXT), username=self._username,
                                   allowed_mentions={"parse": []},  # an alert must never ping @everyone
                                   rate_limit_retry=False, wait=True, timeout=self._timeout)

    async def send(self, message: OutgoingMessage) -> SendResult:
        try:
            # api_post_request is the library's request (URL, query ?wait=true, JSON payload) without execute()'s
            # json.loads of every body, which fails on a proxy's HTML error page and hides the status code
            response = await self._webhook(message.text).api_post_request()
        except httpx.HTTPError as exc:
            return SendResult.again(f"discord unreachable: {type(exc).__name__}: {exc}")
        code = response.status_code
        if code in (200, 204):
            remote_id = None
            if code == 200:
                try:
                    remote_id = str(response.json().get("id") or "") or None
                except (ValueError, json.JSONDecodeError, AttributeError):
                    remote_id = None
            return SendResult.ok(remote_id)
        if code == 429:
            return SendResult.again(f"discord rate limit: {_detail(response)}", retry_after=_retry_after(response),
                                    rate_limited=True)
        if code in (401, 403, 404):
            return SendResult.again(f"discord refused the webhook ({code} {_detail(response)}); "
                                    "check TB_DISCORD_WEBHOOK_URL")
        if 400 <= code < 500:
            return SendResult.give_up(f"discord rejected the message ({code} {_detail(response)})")
        return SendResult.again(f"discord error {code}: {_detail(response)}")

    async def aclose(self) -> None:
        return None
