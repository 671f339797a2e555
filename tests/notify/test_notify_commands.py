"""Telegram commands through the real python-telegram-bot Application (long polling the fake), and the command
service's rules: deny by default, events for everything, confirmation for /flatten and /killswitch."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.clock import ManualClock, iso
from shared.notify.commands import CommandPolicy, CommandRequest, CommandService
from shared.notify.control import complete_control_request, pending_control_requests
from shared.notify.redact import Redactor
from shared.notify.telegram_commands import TelegramCommandBot

from .helpers import rows, until

OPERATOR = 111222333
STRANGER = 999888777
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def _policy(tmp_path: Path, **kw: object) -> CommandPolicy:
    return CommandPolicy(frozenset({OPERATOR}), ("hybrid", "futures"), tmp_path / "run" / "KILL_SWITCH", **kw)


def _service(db, tmp_path: Path, clock=None, mode: str = "sim") -> CommandService:  # type: ignore[no-untyped-def]
    kw = {"clock": clock} if clock else {}
    return CommandService(db, _policy(tmp_path), mode, Redactor(), **kw)


def _seed_fleet(db) -> None:  # type: ignore[no-untyped-def]
    now = iso(datetime.now(timezone.utc))
    db.execute("INSERT INTO heartbeats(ts, agent, pid, cycle, cycle_seconds) VALUES (?, 'hybrid', 4242, 17, 0.2)",
               (now,))
    db.execute("INSERT INTO positions(agent, symbol, side, qty, entry_price, leverage, status, opened_ts,"
               " opened_market_ts, updated_ts) VALUES ('futures','BTC/USDT','SELL',0.5,64000,3,'OPEN',?,?,?)",
               (now, now, now))


def _bot(service: CommandService, tg) -> TelegramCommandBot:  # type: ignore[no-untyped-def]
    return TelegramCommandBot(service, tg.token, api_base=tg.api_base, poll_timeout_s=1, timeout_s=3, retry_s=0.1)


async def _with_bot(bot: TelegramCommandBot, body) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    try:
        await body()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def _events(db, kind: str | None = None) -> list[dict]:  # type: ignore[no-untyped-def]
    sql = "SELECT agent, kind, severity, message, data FROM events" + (" WHERE kind=?" if kind else "") + " ORDER BY id"
    return rows(db, sql, *([kind] if kind else []))


def test_status_from_allowed_user_is_answered_and_stranger_is_refused_and_recorded(db, tg, tmp_path):
    _seed_fleet(db)
    bot = _bot(_service(db, tmp_path), tg)

    async def body() -> None:
        tg.push_message(STRANGER, "/status", username="mallory")
        await until(lambda: _events(db, "command_refused"), what="refusal recorded")
        tg.push_message(OPERATOR, "/status", username="op")
        await until(lambda: tg.texts(OPERATOR), what="reply to the operator")
        tg.push_message(STRANGER, "/killswitch")
        await until(lambda: len(_events(db, "command_refused")) == 2, what="second refusal")

    asyncio.run(_with_bot(bot, body))
    [reply] = tg.texts(OPERATOR)
    assert "Status" in reply and "hybrid: cycle 17" in reply and "pid 4242" in reply and "futures" in reply
    assert tg.texts(STRANGER) == [], "a refused user gets no answer"
    refused = _events(db, "command_refused")
    assert all(e["agent"] == "notifier" and e["severity"] == "warning" for e in refused)
    data = json.loads(refused[0]["data"])
    assert data["user_id"] == STRANGER and data["username"] == "mallory" and data["command"] == "status"
    assert json.loads(refused[1]["data"])["command"] == "killswitch"
    [answered] = _events(db, "command")
    assert json.loads(answered["data"])["user_id"] == OPERATOR
    assert rows(db, "SELECT id FROM control_requests") == []
    assert not (tmp_path / "run" / "KILL_SWITCH").exists()


def test_flatten_needs_confirmation_then_writes_control_requests(db, tg, tmp_path):
    bot = _bot(_service(db, tmp_path), tg)

    async def body() -> None:
        tg.push_message(OPERATOR, "/flatten futures")
        await until(lambda: tg.texts(OPERATOR), what="confirmation prompt")
        await asyncio.sleep(0.3)
        assert rows(db, "SELECT id FROM control_requests") == [], "nothing may happen before /confirm"
        code = _code(tg.texts(OPERATOR)[-1])
        tg.push_message(STRANGER, f"/confirm {code}")  # someone else cannot confirm it
        await until(lambda: _events(db, "command_refused"), what="stranger refused")
        tg.push_message(OPERATOR, "/confirm 000000" if code != "000000" else "/confirm 111111")
        await until(lambda: len(tg.texts(OPERATOR)) == 2, what="wrong code answer")
        assert rows(db, "SELECT id FROM control_requests") == []
        tg.push_message(OPERATOR, f"/confirm {code}")
        await until(lambda: len(tg.texts(OPERATOR)) == 3, what="confirmed answer")
        tg.push_message(OPERATOR, f"/confirm {code}")  # a code works once
        await until(lambda: len(tg.texts(OPERATOR)) == 4, what="reuse answer")

    asyncio.run(_with_bot(bot, body))
    prompt, wrong, confirmed, reused = tg.texts(OPERATOR)
    assert "FLATTEN" in prompt and "/confirm" in prompt and "Nothing has been done" in prompt
    assert "no pending request" in wrong and "confirmed" in confirmed and "no pending request" in reused
    reqs = rows(db, "SELECT command, agent, requested_by, status FROM control_requests")
    assert reqs == [{"command": "flatten", "agent": "futures", "requested_by": f"telegram:{OPERATOR}",
                     "status": "pending"}]
    kinds = [e["kind"] for e in _events(db)]
    assert kinds == ["command_confirmation_requested", "command_refused", "command_rejected", "command",
                     "command_rejected"]
    # every channel hears about it, through the outbox
    assert rows(db, "SELECT severity, kind FROM notify_outbox") == [{"severity": "critical", "kind": "control_request"}]


def test_killswitch_confirmed_creates_the_file_and_requests_for_every_agent(db, tg, tmp_path):
    bot = _bot(_service(db, tmp_path), tg)

    async def body() -> None:
        tg.push_message(OPERATOR, "/killswitch")
        await until(lambda: tg.texts(OPERATOR), what="prompt")
        assert not (tmp_path / "run" / "KILL_SWITCH").exists()
        tg.push_message(OPERATOR, f"/confirm {_code(tg.texts(OPERATOR)[0])}")
        await until(lambda: len(tg.texts(OPERATOR)) == 2, what="confirmed")

    asyncio.run(_with_bot(bot, body))
    ks = tmp_path / "run" / "KILL_SWITCH"
    assert ks.exists() and f"telegram user {OPERATOR}" in ks.read_text() and "/killswitch confirmed" in ks.read_text()
    assert [(r["command"], r["agent"]) for r in rows(db, "SELECT command, agent FROM control_requests ORDER BY id")] \
        == [("killswitch", "hybrid"), ("killswitch", "futures")]


def test_pause_resume_stopentry_write_requests_the_agents_read(db, tmp_path):
    svc = _service(db, tmp_path)
    svc.handle(CommandRequest("pause", (), OPERATOR))
    svc.handle(CommandRequest("stopentry", ("hybrid",), OPERATOR))
    reply = svc.handle(CommandRequest("resume", ("nosuchagent",), OPERATOR))
    assert reply and "unknown agent" in reply
    hybrid = pending_control_requests(db, "hybrid")
    assert [r.command for r in hybrid] == ["pause", "stopentry"]
    assert [r.command for r in pending_control_requests(db, "futures")] == ["pause"]
    assert complete_control_request(db, hybrid[0].id, result="paused")
    assert not complete_control_request(db, hybrid[0].id), "a request is handled once"
    assert [r.command for r in pending_control_requests(db, "hybrid")] == ["stopentry"]
    assert [e["kind"] for e in _events(db)] == ["command", "command", "command_rejected"]


def test_confirmation_expires_after_the_window(db, tmp_path):
    clock = ManualClock(T0)
    svc = _service(db, tmp_path, clock=clock)
    prompt = svc.handle(CommandRequest("flatten", (), OPERATOR, sent_at=T0))
    clock.advance(timedelta(seconds=61))
    reply = svc.handle(CommandRequest("confirm", (_code(prompt),), OPERATOR, sent_at=clock.now()))
    assert reply and "expired" in reply
    assert rows(db, "SELECT id FROM control_requests") == []
    assert rows(db, "SELECT status FROM command_confirmations") == [{"status": "expired"}]
    # within the window it works
    prompt = svc.handle(CommandRequest("flatten", ("hybrid",), OPERATOR, sent_at=clock.now()))
    clock.advance(timedelta(seconds=59))
    assert "confirmed" in (svc.handle(CommandRequest("confirm", (_code(prompt),), OPERATOR)) or "")
    assert [r["agent"] for r in rows(db, "SELECT agent FROM control_requests")] == ["hybrid"]


def test_stale_commands_are_ignored_and_recorded(db, tmp_path):
    clock = ManualClock(T0)
    svc = _service(db, tmp_path, clock=clock)
    reply = svc.handle(CommandRequest("pause", (), OPERATOR, sent_at=T0 - timedelta(minutes=30)))
    assert reply and "Ignored" in reply
    assert rows(db, "SELECT id FROM control_requests") == []
    assert [e["kind"] for e in _events(db)] == ["command_stale"]


@pytest.mark.parametrize("command", ["status", "positions", "pnl", "health", "help"])
def test_read_only_commands_answer_from_the_database_and_say_live_in_live_mode(db, tmp_path, command):
    _seed_fleet(db)
    reply = _service(db, tmp_path, mode="live").handle(CommandRequest(command, (), OPERATOR))
    assert reply and reply.startswith("🔴 LIVE")
    if command == "positions":
        assert "futures BTC/USDT SHORT 3x 0.5 @ 64,000" in reply
    if command == "health":
        assert "✅ hybrid" in reply and "❌ futures: no heartbeat" in reply
    assert rows(db, "SELECT id FROM control_requests") == []
    assert [e["kind"] for e in _events(db)] == ["command"]


def test_unknown_command_and_missing_user_are_recorded(db, tmp_path):
    svc = _service(db, tmp_path)
    assert "Unknown command" in (svc.handle(CommandRequest("rm", (), OPERATOR)) or "")
    assert svc.handle(CommandRequest("status", (), None)) is None
    assert [e["kind"] for e in _events(db)] == ["command_unknown", "command_refused"]


def _code(prompt: str) -> str:
    import re

    m = re.search(r"/confirm (\d{6})", prompt)
    assert m, prompt
    return m.group(1)


def test_command_bot_starts_while_telegram_is_down_and_works_when_it_returns(db, tg, tmp_path):
    tg.down()
    bot = _bot(_service(db, tmp_path), tg)

    async def body() -> None:
        await asyncio.sleep(0.3)
        tg.up()
        tg.push_message(OPERATOR, "/help")
        await until(lambda: tg.texts(OPERATOR), timeout=10, what="help reply after Telegram came back")

    asyncio.run(_with_bot(bot, body))
    assert "/killswitch" in tg.texts(OPERATOR)[0]
