"""Delivery through the real python-telegram-bot and discord-webhook libraries to the fake servers: success, 429s,
outages across several incidents (exactly once, in order), a crash mid-send, permanent failures, the console."""
from __future__ import annotations

import asyncio
import io
import re
import threading
import time

import pytest

from shared.audit.db import connect
from shared.notify import enqueue_alert
from shared.notify.channels import ConsoleChannel
from shared.notify.models import Severity
from shared.notify.render import DUPLICATE_NOTE

from .helpers import discord_channel, make_notifier, rows, running, telegram_channel, until

# python-telegram-bot itself reads RetryAfter.retry_after while building the exception (PTB >= 22.2)
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

INCIDENT = re.compile(r"incident (\d+)")


def _incidents(texts: list[str]) -> list[int]:
    return [int(m.group(1)) for t in texts if (m := INCIDENT.search(t))]


def _all_settled(db) -> bool:  # type: ignore[no-untyped-def]
    return not rows(db, "SELECT id FROM notify_deliveries WHERE status IN ('pending','sending')") and \
        not rows(db, "SELECT id FROM notify_outbox WHERE routed_ts IS NULL")


def test_delivers_to_both_services_with_mode_severity_and_ids(db, tg, dc):
    async def scenario() -> None:
        notifier = make_notifier(db, {"telegram": telegram_channel(tg), "discord": discord_channel(dc)})
        async with running(notifier):
            enqueue_alert(db, "warning", "feed_stale", "BTC/USD feed stale", "no candle for 10 min", agent="hybrid")
            await until(lambda: tg.texts() and dc.contents(), what="both deliveries")
            await until(lambda: _all_settled(db), what="settled")

    asyncio.run(scenario())
    [tg_text], [dc_text] = tg.texts(), dc.contents()
    for text in (tg_text, dc_text):
        assert "[SIM]" in text and "WARNING" in text and "hybrid" in text
        assert "BTC/USD feed stale" in text and "no candle for 10 min" in text
        assert "LIVE" not in text
    assert tg.sent[0].chat_id == "-1001234567890"
    assert dc.messages[0].wait is True, "Discord must be called with ?wait=true"
    assert dc.messages[0].payload["allowed_mentions"] == {"parse": []}
    ds = rows(db, "SELECT channel, status, remote_id FROM notify_deliveries ORDER BY channel")
    assert ds == [{"channel": "discord", "status": "sent", "remote_id": dc.messages[0].id},
                  {"channel": "telegram", "status": "sent", "remote_id": str(tg.sent[0].message_id)}]


def test_live_mode_says_live_in_every_message(db, tg, dc):
    async def scenario() -> None:
        notifier = make_notifier(db, {"telegram": telegram_channel(tg), "discord": discord_channel(dc)}, mode="live")
        async with running(notifier):
            for i in range(3):
                enqueue_alert(db, "info", "trade_opened", f"trade {i}", "b", agent="futures")
            await until(lambda: len(tg.texts()) == 3 and len(dc.contents()) == 3, what="3 + 3 deliveries")

    asyncio.run(scenario())
    assert all("LIVE" in t for t in tg.texts() + dc.contents())


def test_severity_routing_per_channel(db, tg, dc):
    async def scenario() -> None:
        notifier = make_notifier(db, {"telegram": telegram_channel(tg), "discord": discord_channel(dc)},
                                 min_severity={"telegram": Severity.CRITICAL, "discord": Severity.WARNING})
        async with running(notifier):
            enqueue_alert(db, "info", "k", "info one", "b")
            enqueue_alert(db, "warning", "k", "warning one", "b")
            enqueue_alert(db, "critical", "k", "critical one", "b")
            await until(lambda: _all_settled(db), what="settled")

    asyncio.run(scenario())
    assert [t.split("\n")[1] for t in tg.texts()] == ["critical one"]
    assert [t.split("\n")[1] for t in dc.contents()] == ["warning one", "critical one"]


def test_telegram_429_retry_after_is_honoured(db, tg):
    tg.rate_limit(times=1, retry_after=1)

    async def scenario() -> None:
        async with running(make_notifier(db, {"telegram": telegram_channel(tg)})):
            enqueue_alert(db, "info", "k", "incident 1", "b")
            enqueue_alert(db, "info", "k", "incident 2", "b")
            await until(lambda: len(tg.texts()) == 2, timeout=10, what="2 telegram messages")

    asyncio.run(scenario())
    assert _incidents(tg.texts()) == [1, 2]
    attempts = rows(db, "SELECT outbox_id, status, retry_after, started_ts, finished_ts FROM notify_attempts ORDER BY id")
    assert [(a["outbox_id"], a["status"]) for a in attempts] == [(1, "rate_limited"), (1, "sent"), (2, "sent")]
    assert attempts[0]["retry_after"] == 1.0
    gap = _seconds(attempts[1]["started_ts"]) - _seconds(attempts[0]["finished_ts"])
    assert gap >= 0.95, f"retried after {gap:.2f}s, Telegram asked for 1s"
    assert tg.calls("sendMessage") == 3


def test_discord_429_retry_after_is_honoured(db, dc):
    dc.rate_limit(times=2, retry_after=0.3)

    async def scenario() -> None:
        async with running(make_notifier(db, {"discord": discord_channel(dc)})):
            enqueue_alert(db, "info", "k", "incident 1", "b")
            enqueue_alert(db, "info", "k", "incident 2", "b")
            await until(lambda: len(dc.contents()) == 2, what="2 discord messages")

    asyncio.run(scenario())
    assert _incidents(dc.contents()) == [1, 2]
    attempts = rows(db, "SELECT status, retry_after, started_ts, finished_ts FROM notify_attempts ORDER BY id")
    assert [a["status"] for a in attempts] == ["rate_limited", "rate_limited", "sent", "sent"]
    assert attempts[0]["retry_after"] == 0.3
    for before, after in zip(attempts[:2], attempts[1:3], strict=True):
        assert _seconds(after["started_ts"]) - _seconds(before["finished_ts"]) >= 0.28
    assert dc.posts() == 4


def test_outage_during_several_incidents_delivers_each_exactly_once_in_order(db, tg, dc):
    """Both services go away (connection refused, then 502s) while incidents keep coming; nothing is lost or doubled
    and each channel gets them in order, though a 429 and a 5xx arrive on the way back."""
    async def scenario() -> None:
        notifier = make_notifier(db, {"telegram": telegram_channel(tg), "discord": discord_channel(dc)})
        async with running(notifier):
            enqueue_alert(db, "warning", "k", "incident 1", "before the outage")
            await until(lambda: len(tg.texts()) == 1 and len(dc.contents()) == 1, what="incident 1")
            tg.down()
            dc.server_errors(True)
            for i in range(2, 6):
                enqueue_alert(db, "critical" if i % 2 else "warning", "k", f"incident {i}", "during the outage")
                await asyncio.sleep(0.05)
            await until(lambda: len(rows(db, "SELECT id FROM notify_attempts WHERE status='retry'")) >= 6,
                        what="failed attempts")
            dc.server_errors(False)
            dc.down()
            enqueue_alert(db, "critical", "k", "incident 6", "still down")
            await asyncio.sleep(0.3)
            assert len(tg.texts()) == 1 and len(dc.contents()) == 1
            tg.rate_limit(times=1, retry_after=1)
            tg.fail(times=1, status=500)
            dc.fail(times=1, status=503)
            dc.rate_limit(times=1, retry_after=0.2)
            tg.up()
            dc.up()
            await until(lambda: _all_settled(db), timeout=15, what="every delivery settled")

    asyncio.run(scenario())
    assert _incidents(tg.texts()) == [1, 2, 3, 4, 5, 6]
    assert _incidents(dc.contents()) == [1, 2, 3, 4, 5, 6]
    assert rows(db, "SELECT count(*) AS n FROM notify_deliveries WHERE status='sent'") == [{"n": 12}]
    statuses = {r["status"] for r in rows(db, "SELECT status FROM notify_attempts")}
    assert {"retry", "rate_limited", "sent"} <= statuses
    # strict order: for each channel, no alert was attempted before the previous one was delivered
    for channel in ("telegram", "discord"):
        seq = [r["outbox_id"] for r in rows(db, "SELECT outbox_id FROM notify_attempts WHERE channel=? ORDER BY id",
                                           channel)]
        assert seq == sorted(seq), f"{channel} attempts out of order: {seq}"


def test_alerts_wait_across_a_notifier_restart_and_retry_schedule_is_kept(db, tg):
    """Retries live in the database: a new notifier picks up where the old one stopped."""
    async def first() -> None:
        tg.down()
        async with running(make_notifier(db, {"telegram": telegram_channel(tg)})):
            for i in (1, 2, 3):
                enqueue_alert(db, "info", "k", f"incident {i}", "b")
            await until(lambda: len(rows(db, "SELECT id FROM notify_attempts")) >= 2, what="attempts while down")

    async def second() -> None:
        tg.up()
        async with running(make_notifier(db, {"telegram": telegram_channel(tg)})):
            await until(lambda: _all_settled(db), what="delivered after restart")

    asyncio.run(first())
    assert tg.texts() == []
    [head] = rows(db, "SELECT attempts, status, last_error FROM notify_deliveries WHERE outbox_id=1")
    assert head["attempts"] >= 2 and head["status"] == "pending" and "unreachable" in head["last_error"]
    asyncio.run(second())
    assert _incidents(tg.texts()) == [1, 2, 3]


def test_crash_between_send_and_database_update_resends_marked_as_possible_duplicate(db, tg):
    """At-least-once: the service got the message but the notifier died before recording it. The next notifier
    finds the attempt still 'sending', records it as interrupted and sends again with a note."""
    tg.response_delay_s = 1.0

    async def crashing() -> None:
        notifier = make_notifier(db, {"telegram": telegram_channel(tg)})
        stop = asyncio.Event()
        task = asyncio.create_task(notifier.run(stop))
        enqueue_alert(db, "critical", "k", "incident 1", "b")
        await until(lambda: len(tg.texts()) == 1, what="message reached the service")
        task.cancel()  # the process dies here: no finish_attempt
        await asyncio.gather(task, return_exceptions=True)
        await notifier.aclose()

    asyncio.run(crashing())
    assert rows(db, "SELECT status FROM notify_deliveries") == [{"status": "sending"}]
    tg.response_delay_s = 0.0

    async def restarted() -> None:
        async with running(make_notifier(db, {"telegram": telegram_channel(tg)})):
            await until(lambda: _all_settled(db), what="resent")

    asyncio.run(restarted())
    texts = tg.texts()
    assert len(texts) == 2 and DUPLICATE_NOTE not in texts[0] and DUPLICATE_NOTE in texts[1]
    assert [r["status"] for r in rows(db, "SELECT status FROM notify_attempts ORDER BY id")] == ["interrupted", "sent"]


def test_a_message_the_service_rejects_fails_permanently_and_the_queue_moves_on(db, dc):
    dc.fail(times=1, status=400, message="Invalid Form Body")

    async def scenario() -> None:
        async with running(make_notifier(db, {"discord": discord_channel(dc)})):
            enqueue_alert(db, "info", "k", "incident 1", "b")
            enqueue_alert(db, "info", "k", "incident 2", "b")
            await until(lambda: _all_settled(db), what="settled")

    asyncio.run(scenario())
    assert _incidents(dc.contents()) == [2]
    assert [r["status"] for r in rows(db, "SELECT status FROM notify_deliveries ORDER BY id")] == ["failed", "sent"]


def test_wrong_webhook_token_holds_the_queue_instead_of_dropping(db, dc):
    from shared.notify.discord_channel import DiscordChannel

    bad = DiscordChannel(dc.webhook_url.replace(dc.token, "wrongtoken123"), timeout_s=2)

    async def scenario() -> None:
        async with running(make_notifier(db, {"discord": bad})):
            enqueue_alert(db, "info", "k", "incident 1", "b")
            await until(lambda: len(rows(db, "SELECT id FROM notify_attempts")) >= 2, what="retries")

    asyncio.run(scenario())
    [d] = rows(db, "SELECT status, last_error FROM notify_deliveries")
    assert d["status"] == "pending" and "TB_DISCORD_WEBHOOK_URL" in d["last_error"]
    assert "wrongtoken123" not in d["last_error"]


def test_folded_alert_is_sent_once_with_its_count(db, tg):
    tg.down()

    async def scenario() -> None:
        async with running(make_notifier(db, {"telegram": telegram_channel(tg)})):
            for _ in range(5):
                enqueue_alert(db, "warning", "feed_stale", "BTC/USD feed stale", "no candle", agent="hybrid")
            enqueue_alert(db, "info", "k", "something else", "b")
            await asyncio.sleep(0.2)
            tg.up()
            await until(lambda: _all_settled(db), what="settled")

    asyncio.run(scenario())
    texts = tg.texts()
    assert len(texts) == 2
    assert "BTC/USD feed stale" in texts[0] and "×5" in texts[0]
    assert "something else" in texts[1]


def test_without_channels_alerts_go_to_console_and_log(db, caplog):
    out = io.StringIO()
    caplog.set_level("INFO")

    async def scenario() -> None:
        async with running(make_notifier(db, {"console": ConsoleChannel(stream=out)})):
            enqueue_alert(db, "critical", "kill_switch", "KILL SWITCH ENGAGED", "by test", agent="fleet")
            await until(lambda: _all_settled(db), what="console delivery")

    asyncio.run(scenario())
    assert "KILL SWITCH ENGAGED" in out.getvalue() and "[SIM]" in out.getvalue()
    assert any("KILL SWITCH ENGAGED" in r.getMessage() for r in caplog.records)


def test_many_writers_at_once_lose_nothing(db_path, db, tg):
    """Several processes' worth of connections enqueue concurrently while the notifier sends."""
    def writer(w: int) -> None:
        conn = connect(db_path)
        for i in range(10):
            enqueue_alert(conn, "info", "k", f"writer {w} alert {i}", "b", agent=f"w{w}")
        conn.close()

    async def scenario() -> None:
        async with running(make_notifier(db, {"telegram": telegram_channel(tg)})):
            threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
            for t in threads:
                t.start()
            await asyncio.to_thread(lambda: [t.join() for t in threads])
            await until(lambda: len(tg.texts()) == 40 and _all_settled(db), timeout=20, what="40 messages")

    asyncio.run(scenario())
    titles = [t.split("\n")[1] for t in tg.texts()]
    assert sorted(titles) == sorted(f"writer {w} alert {i}" for w in range(4) for i in range(10))
    ids = [int(re.search(r"#(\d+)", t).group(1)) for t in tg.texts()]
    assert ids == sorted(ids)


def _seconds(ts: str) -> float:
    from shared.notify.timefmt import parse_iso

    return parse_iso(ts).timestamp()


def test_fake_is_really_down_when_down(tg):
    import httpx

    tg.down()
    t0 = time.monotonic()
    try:
        httpx.post(f"{tg.api_base}/bot{tg.token}/getMe", timeout=1)
        raise AssertionError("expected connection refused")
    except httpx.ConnectError:
        pass
    assert time.monotonic() - t0 < 1
