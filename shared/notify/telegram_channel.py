"""Telegram alert channel through python-telegram-bot: sendMessage to one chat, Telegram's errors mapped to
SendResult (RetryAfter honoured, a migrated chat followed, configuration problems held for retry, not dropped)."""
from __future__ import annotations

import logging
import warnings
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from shared.notify.models import OutgoingMessage, SendResult
from shared.notify.render import fit

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # Telegram allows 4096 UTF-16 units; leave room for emoji counted twice
DEFAULT_API_BASE = "https://api.telegram.org"


def bot_base_urls(api_base: str) -> tuple[str, str]:
    """python-telegram-bot appends the token: '<api>/bot' + token + '/sendMessage'."""
    api = api_base.rstrip("/")
    return f"{api}/bot", f"{api}/file/bot"


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is int seconds or a timedelta depending on PTB_TIMEDELTA; accept both quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    def __init__(self, token: str, chat_id: str | int, *, api_base: str = DEFAULT_API_BASE, timeout_s: float = 15.0,
                 name: str = "telegram") -> None:
        self.name = name
        self._chat_id: str | int = chat_id
        self._request = HTTPXRequest(connect_timeout=timeout_s, read_timeout=timeout_s, write_timeout=timeout_s,
                                     pool_timeout=timeout_s)
        self._updates_request = HTTPXRequest()  # unused (this bot only sends), but Bot would make one anyway
        base_url, base_file_url = bot_base_urls(api_base)
        self._bot = Bot(token=token, base_url=base_url, base_file_url=base_file_url, request=self._request,
                        get_updates_request=self._updates_request)

    async def send(self, message: OutgoingMessage) -> SendResult:
        try:
            sent = await self._bot.send_message(chat_id=self._chat_id, text=fit(message.text, MAX_TEXT),
                                                link_preview_options=LinkPreviewOptions(is_disabled=True))
            return SendResult.ok(str(sent.message_id))
        except RetryAfter as exc:
            return SendResult.again(f"telegram flood control: {exc}", retry_after=retry_after_seconds(exc),
                                    rate_limited=True)
        except ChatMigrated as exc:
            log.warning("telegram chat %s became supergroup %s: set TB_TELEGRAM_CHAT_ID=%s", self._chat_id,
                        exc.new_chat_id, exc.new_chat_id)
            self._chat_id = exc.new_chat_id
            return SendResult.again(f"chat migrated to {exc.new_chat_id}", retry_after=0.0)
        except (Forbidden, InvalidToken) as exc:
            # the bot or the chat is misconfigured: every message would fail, so hold the queue and keep retrying
            return SendResult.again(f"telegram refused the bot ({exc}); check TB_TELEGRAM_BOT_TOKEN and "
                                    "TB_TELEGRAM_CHAT_ID, and that the bot is a member of the chat")
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                return SendResult.again(f"telegram: {exc}; check TB_TELEGRAM_CHAT_ID")
            return SendResult.give_up(f"telegram rejected the message: {exc}")
        except (TimedOut, NetworkError) as exc:
            return SendResult.again(f"telegram unreachable: {type(exc).__name__}: {exc}")
        except TelegramError as exc:
            return SendResult.again(f"telegram error: {type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        await self._bot.shutdown()
        await self._request.shutdown()
        await self._updates_request.shutdown()
