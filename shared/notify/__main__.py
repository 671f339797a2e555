"""`python -m shared.notify`: the notifier process — outbox sender, daily summaries and the Telegram command bot.

    python -m shared.notify            run until SIGTERM/SIGINT (supervisord program `notifier`)
    python -m shared.notify --once     deliver what is waiting now (up to --timeout seconds) and exit;
                                       exit 0 when everything was delivered, 1 otherwise
"""
from __future__ import annotations

import argparse
import asyncio
import fcntl
import logging
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import IO

from shared.audit.db import connect, transaction
from shared.audit.migrations import migrate
from shared.clock import WallClock, iso, utc_now
from shared.config import ConfigError, Settings, load_settings
from shared.config.errors import exit_on_config_error
from shared.notify import outbox
from shared.notify.commands import CommandPolicy, CommandService
from shared.notify.config import FLEET_AGENTS, NotifySettings, build_channels, build_routing
from shared.notify.daily import DailySummaries
from shared.notify.notifier import Notifier, NotifierTiming
from shared.notify.redact import RedactingLogFilter, Redactor

log = logging.getLogger("shared.notify")


def _setup_logging(settings: Settings, redact: Redactor) -> None:
    try:
        from shared.logging_setup import setup_logging

        setup_logging(settings, "notifier")
    except ImportError:  # pragma: no cover - the fleet's logging module is optional for this package
        logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                            format="%(asctime)s notifier %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingLogFilter(redact))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the bot URL


def _lock(run_dir: Path) -> IO[str] | None:
    """One notifier per database: two would both send the same queue."""
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / "notifier.lock", "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _event(conn: sqlite3.Connection, kind: str, message: str, severity: str = "info") -> None:
    with transaction(conn):
        conn.execute("INSERT INTO events(ts, agent, kind, severity, message, data) VALUES (?,?,?,?,?,NULL)",
                     (iso(utc_now()), "notifier", kind, severity, message))


async def serve(settings: Settings, ns: NotifySettings, redact: Redactor, once: bool, timeout_s: float) -> int:
    conn = connect(settings.db_path)
    migrate(conn)
    channels = build_channels(ns)
    dropped = outbox.abandon_unconfigured(conn, list(channels))
    if dropped:
        log.warning("%d queued alerts were for channels no longer configured; marked failed", dropped)
    notifier = Notifier(conn, channels, build_routing(ns, list(channels)), mode=settings.mode, redact=redact,
                        timing=NotifierTiming(ns.notify_poll_interval_s, ns.backoff))
    try:
        if once:
            return 0 if await notifier.drain(timeout_s) else 1
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        extra = []
        if ns.notify_daily_summary_hour >= 0:
            extra.append(DailySummaries(conn, FLEET_AGENTS, ns.notify_daily_summary_hour, WallClock()).run)
        if ns.commands_enabled:
            from shared.notify.telegram_commands import TelegramCommandBot

            assert ns.telegram_bot_token is not None
            policy = CommandPolicy(frozenset(ns.telegram_allowed_user_ids), FLEET_AGENTS, settings.kill_switch_path,
                                   confirm_timeout_s=ns.notify_confirm_timeout_s)
            bot = TelegramCommandBot(CommandService(conn, policy, settings.mode, redact),
                                     ns.telegram_bot_token.get_secret_value(), api_base=ns.telegram_api_base,
                                     poll_timeout_s=ns.telegram_poll_timeout_s, timeout_s=ns.notify_send_timeout_s)
            extra.append(bot.run)
        elif ns.telegram_bot_token:
            log.warning("telegram commands are off: set TB_TELEGRAM_ALLOWED_USER_IDS to the numeric ids allowed")
        _event(conn, "notifier_started", f"notifier started (pid {os.getpid()}), channels: {', '.join(channels)}")
        log.info("notifier started; channels: %s; commands: %s", ", ".join(channels),
                 "on" if ns.commands_enabled else "off")
        await notifier.run(stop, extra)
        _event(conn, "notifier_stopped", "notifier stopped")
        return 0
    finally:
        await notifier.aclose()
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.notify", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="deliver what is waiting, then exit")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds --once may take (default 30)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        ns = NotifySettings.load(settings.root)
    except ConfigError as err:
        exit_on_config_error(err)
    redact = Redactor.from_sources(os.environ, [settings, ns])
    _setup_logging(settings, redact)
    lock = _lock(settings.run_dir)
    if lock is None:
        log.error("another notifier holds %s; exiting", settings.run_dir / "notifier.lock")
        return 1
    try:
        return asyncio.run(serve(settings, ns, redact, args.once, args.timeout))
    finally:
        lock.close()


if __name__ == "__main__":
    raise SystemExit(main())
