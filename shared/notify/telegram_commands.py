"""The Telegram command bot: python-telegram-bot Application (long polling) in front of CommandService.

A gate handler runs first for every update and drops anyone not on the allow-list (recording the attempt); the
command handlers then pass the parsed command to CommandService and send back its reply.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from telegram import BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from shared.notify.commands import ALL_COMMANDS, DESCRIPTIONS, CommandRequest, CommandService
from shared.notify.notifier import sleep_or_stop
from shared.notify.render import fit
from shared.notify.telegram_channel import DEFAULT_API_BASE, MAX_TEXT, bot_base_urls

log = logging.getLogger(__name__)


def _request(update: Update) -> CommandRequest:
    msg = update.effective_message
    text = (msg.text or "") if msg else ""
    parts = text.split()
    command = parts[0][1:].split("@", 1)[0].lower() if parts and parts[0].startswith("/") else "(not a command)"
    user = update.effective_user
    chat = update.effective_chat
    return CommandRequest(command=command, args=tuple(parts[1:]), user_id=user.id if user else None,
                          username=user.username if user else None, chat_id=str(chat.id) if chat else None,
                          sent_at=msg.date if msg else None)


class TelegramCommandBot:
    def __init__(self, service: CommandService, token: str, *, api_base: str = DEFAULT_API_BASE,
                 poll_timeout_s: float = 10.0, timeout_s: float = 15.0, retry_s: float = 5.0,
                 redact: Callable[[str], str] | None = None) -> None:
        self._service = service
        self._poll_timeout = poll_timeout_s
        self._retry_s = retry_s
        self._redact = redact or service.redact
        base_url, base_file_url = bot_base_urls(api_base)
        self.app: Application = (
            Application.builder().token(token).base_url(base_url).base_file_url(base_file_url)
            .connect_timeout(timeout_s).read_timeout(timeout_s).write_timeout(timeout_s).pool_timeout(timeout_s)
            .get_updates_read_timeout(poll_timeout_s + timeout_s).get_updates_connect_timeout(timeout_s)
            .build())
        self.app.add_handler(TypeHandler(Update, self._gate), group=-1)
        self.app.add_handler(CommandHandler(list(ALL_COMMANDS), self._on_command, filters=filters.UpdateType.MESSAGE))
        self.app.add_handler(MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, self._on_command))

    async def _gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Deny by default: an update from anyone not allowed is recorded and goes no further."""
        user = update.effective_user
        if self._service.is_allowed(user.id if user else None):
            return
        self._service.refuse(_request(update))
        raise ApplicationHandlerStop

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        req = _request(update)
        reply = self._service.handle(req)
        if reply and update.effective_chat:
            await context.bot.send_message(chat_id=update.effective_chat.id, text=fit(reply, MAX_TEXT))

    def _polling_error(self, exc: TelegramError) -> None:
        log.warning("telegram polling: %s", self._redact(f"{type(exc).__name__}: {exc}"))

    async def run(self, stop: asyncio.Event) -> None:
        """Initialise (retrying while Telegram is unreachable), poll until `stop`, then shut down cleanly."""
        while not stop.is_set():
            try:
                await self.app.initialize()
                break
            except InvalidToken as exc:
                log.error("telegram command bot disabled: %s", self._redact(str(exc)))
                return
            except TelegramError as exc:
                log.warning("telegram command bot cannot start yet: %s", self._redact(str(exc)))
                await sleep_or_stop(stop, self._retry_s)
        if stop.is_set():
            return
        try:
            try:
                await self.app.bot.set_my_commands([BotCommand(c, DESCRIPTIONS[c][:256]) for c in ALL_COMMANDS])
            except TelegramError as exc:
                log.warning("telegram setMyCommands failed: %s", self._redact(str(exc)))
            assert self.app.updater is not None
            await self.app.updater.start_polling(timeout=int(self._poll_timeout), poll_interval=0.0,
                                                 bootstrap_retries=-1, allowed_updates=["message"],
                                                 error_callback=self._polling_error)
            await self.app.start()
            await stop.wait()
        finally:
            if self.app.updater is not None and self.app.updater.running:
                await self.app.updater.stop()
            if self.app.running:
                await self.app.stop()
            await self.app.shutdown()
