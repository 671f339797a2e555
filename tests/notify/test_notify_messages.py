"""Phone-sized messages: trades, lifecycle, breakers, health, and the daily summary computed from the audit tables."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.notify import messages, outbox
from shared.notify.daily import enqueue_due_summaries, summary_day_due
from shared.notify.models import Severity
from shared.notify.outbox import Delivery
from shared.notify.render import alert_text, fit
from shared.notify.reports import daily_summary

from .helpers import rows

DAY = datetime(2025, 3, 1, tzinfo=timezone.utc)


def test_trade_opened_has_symbol_side_size_price_leverage_reason():
    a = messages.trade_opened("futures", "BTC/USDT", "SELL", 0.5, 64000.0, leverage=3, reason="breakout short",
                              stop_price=65000)
    text = f"{a.title}\n{a.body}"
    for part in ("📉 SHORT BTC/USDT opened", "size 0.5 @ 64,000.00", "notional 32,000.00", "leverage 3x",
                 "margin 10,666.67", "stop 65,000.00", "reason: breakout short"):
        assert part in text, part
    assert a.severity is Severity.INFO and a.kind == "trade_opened"


def test_trade_closed_has_pnl_and_percent_and_emoji():
    win = messages.trade_closed("hybrid", "ETH/USD", "BUY", 2, 3000, 3150, 295.5, reason="take profit")
    assert win.title == "✅ LONG ETH/USD closed +295.50"
    assert "3,000.00 → 3,150.00" in win.body and "PnL +295.50 (+4.92% on cost)" in win.body
    loss = messages.trade_closed("futures", "SOL/USDT", "SELL", 10, 100, 105, -52.0, reason="stop", leverage=5)
    assert loss.title.startswith("❌ SHORT SOL/USDT closed -52.00")
    assert "(-26.00% on margin)" in loss.body and "leverage 5x" in loss.body


def test_lifecycle_breaker_killswitch_and_health_alerts_have_severity_and_dedup_keys():
    cases = [
        (messages.agent_down("futures", "heartbeat 300s old"), Severity.CRITICAL, "agent_down:futures"),
        (messages.agent_restarted("hybrid", "watchdog restart", 2), Severity.WARNING, "agent_restarted:hybrid"),
        (messages.agent_failed("hybrid", "FATAL after 3 tries"), Severity.CRITICAL, "agent_failed:hybrid"),
        (messages.circuit_breaker("futures", "max_drawdown", "drawdown 12% > 10%"), Severity.CRITICAL,
         "circuit_breaker:futures:max_drawdown"),
        (messages.kill_switch(True, "operator"), Severity.CRITICAL, "kill_switch:engaged"),
        (messages.health_check_failed("disk", "95% used"), Severity.WARNING, "health:fleet:disk"),
    ]
    for alert, severity, key in cases:
        assert alert.severity is severity and alert.dedup_key == key
    assert "restarts today: 2" in cases[1][0].body


def test_rendered_alert_text_in_live_and_sim():
    d = Delivery(id=1, outbox_id=7, channel="x", status="pending", attempts=0, next_attempt_ts="2025-03-01T00:00:00Z",
                 created_ts="2025-03-01T12:00:00.000Z", agent="futures", severity=Severity.CRITICAL,
                 kind="agent_down", title="💀 futures is DOWN", body="heartbeat 300s old", count=3,
                 last_seen_ts="2025-03-01T12:04:10.000Z")
    live = alert_text(d, "live")
    assert live.splitlines()[0] == "🚨 🔴 LIVE · CRITICAL · futures"
    assert "×3 since 12:00:00Z (last 12:04:10Z)" in live and "#7" in live
    assert alert_text(d, "sim").splitlines()[0] == "🚨 [SIM] · CRITICAL · futures"
    assert len(fit("x" * 5000, 2000)) == 2000 and fit("x" * 5000, 2000).endswith("(truncated)")


def _seed_day(db) -> None:  # type: ignore[no-untyped-def]
    def ts(h: int, m: int = 0) -> str:
        return (DAY + timedelta(hours=h, minutes=m)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    pos = ("INSERT INTO positions(agent, symbol, side, qty, entry_price, leverage, status, opened_ts, opened_market_ts,"
           " closed_ts, realized_pnl, fees, funding, updated_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
    db.execute(pos, ("futures", "BTC/USDT", "BUY", 0, 60000, 3, "CLOSED", ts(1), ts(1), ts(2), 120.0, 4.0, -1.0, ts(2)))
    db.execute(pos, ("futures", "ETH/USDT", "SELL", 0, 3000, 3, "CLOSED", ts(3), ts(3), ts(4), -50.0, 2.0, 0.5, ts(4)))
    db.execute(pos, ("futures", "SOL/USDT", "BUY", 0, 100, 2, "CLOSED", ts(5), ts(5), ts(6), 30.0, 1.0, 0.0, ts(6)))
    # closed the day before: not in this day's numbers
    db.execute(pos, ("futures", "XRP/USDT", "BUY", 0, 1, 2, "CLOSED", "2025-02-28T20:00:00.000Z",
                     "2025-02-28T20:00:00.000Z", "2025-02-28T23:00:00.000Z", 999.0, 0, 0, ts(0)))
    db.execute(pos, ("futures", "DOGE/USDT", "BUY", 100, 0.1, 2, "OPEN", ts(20), ts(20), None, 0, 0.1, 0, ts(20)))
    db.execute(pos, ("hybrid", "BTC/USD", "BUY", 0.1, 60000, 1, "OPEN", ts(9), ts(9), None, 0, 1.0, 0, ts(9)))
    for h, eq in ((0, 10_000.0), (12, 10_050.0), (23, 10_090.0)):
        db.execute("INSERT INTO equity_snapshots(ts, market_ts, agent, equity, cash, unrealized_pnl, open_positions)"
                   " VALUES (?,?,?,?,?,?,?)", (ts(h), ts(h), "futures", eq, eq, 0.0, 1))
    for i in range(5):
        db.execute("INSERT INTO decisions(ts, market_ts, agent, cycle, symbol, action, reason) VALUES"
                   " (?,?,?,?,?,?,?)", (ts(10, i), ts(10, i), "futures", i, "BTC/USDT", "WAIT", "quality 3 < 5"))
    db.execute("INSERT INTO fills(fill_id, client_order_id, agent, symbol, side, qty, price, fee, market_ts, ts) VALUES"
               " ('f1','c1','futures','BTC/USDT','BUY',0.1,60000,4,?,?)", (ts(1), ts(1)))


def test_daily_summary_is_computed_from_the_audit_tables(db):
    _seed_day(db)
    s = daily_summary(db, "futures", DAY)
    assert (s.opened, s.closed, s.wins, s.losses) == (4, 3, 2, 1)
    assert s.net_pnl == (120 - 4 - 1) + (-50 - 2 + 0.5) + (30 - 1)
    assert s.win_rate == 2 / 3 and s.fees == 7.0
    assert (s.fills, s.decisions, s.open_positions) == (1, 5, 1)
    assert (s.equity_start, s.equity_end) == (10_000.0, 10_090.0)
    a = messages.daily_summary(s)
    assert a.title == "📈 futures daily summary 2025-03-01" and a.dedup_key == "daily_summary:futures:2025-03-01"
    assert "3 closed (2 won / 1 lost, win rate 67%)" in a.body and "net PnL: +92.50" in a.body
    assert "open positions now: 1" in a.body and "10,000.00 → 10,090.00 (+90.00)" in a.body


def test_daily_summaries_are_enqueued_once_per_agent_and_day(db):
    _seed_day(db)
    assert summary_day_due(DAY + timedelta(days=1, hours=1), hour=3) is None
    assert summary_day_due(DAY + timedelta(days=1, hours=1), hour=-1) is None
    now = DAY + timedelta(days=1, hours=0, minutes=5)
    assert len(enqueue_due_summaries(db, ("hybrid", "futures"), now, hour=0)) == 2
    assert enqueue_due_summaries(db, ("hybrid", "futures"), now + timedelta(hours=5), hour=0) == []
    got = rows(db, "SELECT agent, kind, title FROM notify_outbox ORDER BY id")
    assert [(g["agent"], g["kind"]) for g in got] == [("hybrid", "daily_summary"), ("futures", "daily_summary")]
    assert outbox.has_alert(db, "daily_summary:futures:2025-03-01")


def test_no_daily_summary_for_an_agent_that_did_nothing(db):
    now = DAY + timedelta(days=1, minutes=5)
    assert enqueue_due_summaries(db, ("hybrid", "futures"), now, hour=0) == []  # an empty day is not news
    assert rows(db, "SELECT count(*) AS n FROM notify_outbox")[0]["n"] == 0
