"""No secret ever leaves in a message, a reply, a stored error or a log line."""
from __future__ import annotations

import asyncio
import logging

from pydantic import SecretStr

from shared.notify import enqueue_alert
from shared.notify.commands import CommandPolicy, CommandRequest, CommandService
from shared.notify.config import NotifySettings
from shared.notify.redact import MASK, RedactingLogFilter, Redactor, secret_values

from .helpers import discord_channel, make_notifier, rows, running, telegram_channel, until

TOKEN = "987654321:AAE-secretSECRETsecretSECRETsecret_xyz"
WEBHOOK = "https://discord.com/api/webhooks/123456789012345678/veryS3cretWebhookTokenValue-abc"
ENV = {"TB_ALPACA_API_KEY": "PKTESTKEY1234567", "TB_ALPACA_SECRET_KEY": "alpacaSecretValue987654",
       "TB_BINANCE_API_SECRET": "binanceSecret_55555", "DB_PASSWORD": "hunter2hunter2", "TB_MODE": "live",
       "TB_TELEGRAM_CHAT_ID": "-1001234567890", "TB_LOG_LEVEL": "INFO", "TB_SOME_TOKEN": "short"}


def _redactor() -> Redactor:
    ns = NotifySettings(telegram_bot_token=SecretStr(TOKEN), telegram_chat_id="-100", discord_webhook_url=WEBHOOK)
    return Redactor.from_sources(ENV, [ns])


def test_values_of_secret_named_settings_are_masked_and_others_are_not():
    r = _redactor()
    text = (f"keys PKTESTKEY1234567 / alpacaSecretValue987654 / binanceSecret_55555 / hunter2hunter2; "
            f"token {TOKEN}; webhook {WEBHOOK}; mode live; chat -1001234567890")
    out = r(text)
    for secret in ("PKTESTKEY1234567", "alpacaSecretValue987654", "binanceSecret_55555", "hunter2hunter2", TOKEN,
                   "veryS3cretWebhookTokenValue-abc", "AAE-secretSECRETsecretSECRETsecret_xyz"):
        assert secret not in out
    assert "mode live" in out and "-1001234567890" in out, "non-secret values must survive"
    assert secret_values({"TB_SOME_TOKEN": "short"}) == set(), "too short to mask without false hits"


def test_patterns_catch_secrets_nobody_configured():
    r = Redactor()
    cases = {
        "POST https://api.telegram.org/bot555555555:AAHunknownTokenUnknownTokenUnknownTok/sendMessage": "555555555:",
        "https://discord.com/api/webhooks/42424242/unknown-token_value?wait=true": "unknown-token_value",
        "export BINANCE_API_KEY=abcdef123456": "abcdef123456",
        '{"api_secret": "s3cr3tvalue99"}': "s3cr3tvalue99",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig": "eyJhbGciOiJIUzI1NiJ9",
    }
    for text, secret in cases.items():
        out = r(text)
        assert secret not in out and MASK in out, (text, out)
    assert r("discord webhook: unreachable; token: 5 left") == "discord webhook: unreachable; token: 5 left"


def test_outgoing_alerts_are_redacted_on_both_services(db, tg, dc):
    redact = Redactor.from_sources({"TB_DISCORD_WEBHOOK_URL": dc.webhook_url, "TB_TELEGRAM_BOT_TOKEN": tg.token,
                                    "TB_ALPACA_API_KEY": "PKTESTKEY1234567"})

    async def scenario() -> None:
        notifier = make_notifier(db, {"telegram": telegram_channel(tg), "discord": discord_channel(dc)},
                                 redact=redact)
        async with running(notifier):
            enqueue_alert(db, "critical", "crash", "agent crashed with key PKTESTKEY1234567",
                          f"traceback: POST {tg.api_base}/bot{tg.token}/sendMessage failed; webhook {dc.webhook_url}",
                          agent="futures")
            await until(lambda: tg.texts() and dc.contents(), what="deliveries")

    asyncio.run(scenario())
    for text in tg.texts() + dc.contents():
        assert "PKTESTKEY1234567" not in text and tg.token not in text and dc.token not in text
        assert MASK in text and "agent crashed" in text


def test_errors_stored_in_the_database_are_redacted(db, dc):
    from shared.notify.discord_channel import DiscordChannel

    secret_url = dc.webhook_url
    redact = Redactor.from_sources({"TB_DISCORD_WEBHOOK_URL": secret_url})

    class Leaky(DiscordChannel):
        async def send(self, message):  # type: ignore[no-untyped-def]
            raise RuntimeError(f"boom while posting to {secret_url}")

    async def scenario() -> None:
        async with running(make_notifier(db, {"discord": Leaky(secret_url)}, redact=redact)):
            enqueue_alert(db, "info", "k", "t", "b")
            await until(lambda: rows(db, "SELECT id FROM notify_attempts WHERE status='retry'"), what="a failure")

    asyncio.run(scenario())
    for row in rows(db, "SELECT error FROM notify_attempts UNION ALL SELECT last_error FROM notify_deliveries"):
        assert row["error"] and dc.token not in row["error"]


def test_command_replies_and_events_are_redacted(db, tmp_path):
    db.execute("INSERT INTO heartbeats(ts, agent, pid, cycle, cycle_seconds, last_error) VALUES"
               " ('2025-03-01T12:00:00.000Z', 'hybrid', 1, 1, 0.1, 'auth failed for key PKTESTKEY1234567')")
    svc = CommandService(db, CommandPolicy(frozenset({1}), ("hybrid",), tmp_path / "KS"), "sim",
                         Redactor.from_sources({"TB_ALPACA_API_KEY": "PKTESTKEY1234567"}))
    reply = svc.handle(CommandRequest("status", (), 1))
    assert reply and "auth failed for key" in reply and "PKTESTKEY1234567" not in reply
    svc.handle(CommandRequest("status", ("PKTESTKEY1234567",), 2))
    assert all("PKTESTKEY1234567" not in (r["data"] or "") for r in rows(db, "SELECT data FROM events"))


def test_log_filter_masks_secrets_in_log_records(caplog):
    logger = logging.getLogger("test.redact")
    handler = caplog.handler
    f = RedactingLogFilter(Redactor.from_sources({"TB_TELEGRAM_BOT_TOKEN": TOKEN}))
    handler.addFilter(f)
    try:
        logger.warning("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
    finally:
        handler.removeFilter(f)
    assert TOKEN not in caplog.text and MASK in caplog.text
