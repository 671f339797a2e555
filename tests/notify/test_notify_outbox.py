"""The outbox itself: schema, enqueue, dedup folding, severity routing, attempt bookkeeping, backoff schedule."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.audit.db import transaction
from shared.audit.migrations import all_migrations
from shared.notify import enqueue_alert, messages, outbox
from shared.notify.models import Backoff, ChannelRoute, Routing, SendResult, Severity

from .helpers import rows

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
ROUTING = Routing((ChannelRoute("telegram", Severity.INFO), ChannelRoute("discord", Severity.WARNING),
                   ChannelRoute("pager", Severity.CRITICAL)))


def test_migration_v3_creates_the_notify_tables(db):
    assert all_migrations()[-1].version >= 3
    tables = {r["name"] for r in rows(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"notify_outbox", "notify_deliveries", "notify_attempts", "control_requests",
            "command_confirmations"} <= tables


def test_enqueue_writes_one_row_with_all_fields(db):
    oid = enqueue_alert(db, "warning", "feed_stale", "BTC/USD feed stale", "no candle for 10 min", agent="hybrid",
                        data={"symbol": "BTC/USD"}, now=T0)
    [row] = rows(db, "SELECT * FROM notify_outbox")
    assert row["id"] == oid
    assert (row["severity"], row["kind"], row["agent"], row["count"]) == ("warning", "feed_stale", "hybrid", 1)
    assert row["created_ts"] == "2025-03-01T12:00:00.000Z" and row["routed_ts"] is None
    assert '"symbol":"BTC/USD"' in row["data"]


def test_unknown_severity_is_refused(db):
    with pytest.raises(ValueError, match="not one of info, warning, critical"):
        enqueue_alert(db, "fatal", "x", "t", "b")


def test_identical_alerts_within_window_fold_into_one_with_a_count(db):
    ids = [enqueue_alert(db, "warning", "feed_stale", "stale", "same body", agent="hybrid",
                         now=T0 + timedelta(seconds=i * 10), dedup_window_s=60) for i in range(4)]
    assert len(set(ids)) == 1
    [row] = rows(db, "SELECT * FROM notify_outbox")
    assert row["count"] == 4 and row["last_seen_ts"] == "2025-03-01T12:00:30.000Z"
    # after the window a new row starts
    enqueue_alert(db, "warning", "feed_stale", "stale", "same body", agent="hybrid",
                  now=T0 + timedelta(seconds=61), dedup_window_s=60)
    assert [r["count"] for r in rows(db, "SELECT count FROM notify_outbox ORDER BY id")] == [4, 1]


def test_explicit_dedup_key_folds_different_texts_and_takes_higher_severity_while_unrouted(db):
    a = enqueue_alert(db, "warning", "agent_down", "futures down", "heartbeat 130s old", dedup_key="down:futures",
                      now=T0)
    b = enqueue_alert(db, "critical", "agent_down", "futures down", "heartbeat 300s old", dedup_key="down:futures",
                      now=T0 + timedelta(seconds=5))
    assert a == b
    [row] = rows(db, "SELECT severity, count FROM notify_outbox")
    assert row == {"severity": "critical", "count": 2}


def test_different_alerts_do_not_fold_and_window_zero_disables_folding(db):
    enqueue_alert(db, "info", "k", "one", "b", now=T0)
    enqueue_alert(db, "info", "k", "two", "b", now=T0)
    enqueue_alert(db, "info", "k", "two", "b", now=T0, dedup_window_s=0)
    assert len(rows(db, "SELECT id FROM notify_outbox")) == 3


def test_enqueue_joins_the_callers_transaction(db):
    with pytest.raises(RuntimeError):
        with transaction(db):
            enqueue_alert(db, "info", "trade_opened", "t", "b")
            raise RuntimeError("the fill write failed")
    assert rows(db, "SELECT id FROM notify_outbox") == []
    with transaction(db):
        enqueue_alert(db, "info", "trade_opened", "t", "b")
    assert len(rows(db, "SELECT id FROM notify_outbox")) == 1


def test_routing_by_severity_and_critical_goes_everywhere(db):
    enqueue_alert(db, "info", "k", "i", "b", now=T0)
    enqueue_alert(db, "warning", "k", "w", "b", now=T0)
    enqueue_alert(db, "critical", "k", "c", "b", now=T0)
    routed = outbox.route_pending(db, ROUTING, T0)
    assert [r.channels for r in routed] == [("telegram",), ("telegram", "discord"),
                                            ("telegram", "discord", "pager")]
    assert outbox.route_pending(db, ROUTING, T0) == []  # routed once only
    got = rows(db, "SELECT o.title, d.channel FROM notify_deliveries d JOIN notify_outbox o ON o.id=d.outbox_id"
                   " ORDER BY d.id")
    assert [(g["title"], g["channel"]) for g in got] == [
        ("i", "telegram"), ("w", "telegram"), ("w", "discord"), ("c", "telegram"), ("c", "discord"), ("c", "pager")]


def test_min_severity_critical_still_takes_critical():
    r = ChannelRoute("x", Severity.CRITICAL)
    assert not r.accepts(Severity.WARNING) and r.accepts(Severity.CRITICAL)


def test_head_of_line_attempts_and_backoff_are_stored(db):
    enqueue_alert(db, "info", "k", "first", "b", now=T0)
    enqueue_alert(db, "info", "k", "second", "b", now=T0)
    outbox.route_pending(db, Routing((ChannelRoute("telegram"),)), T0)
    backoff = Backoff(base_s=2, max_s=5)
    head = outbox.next_delivery(db, "telegram")
    assert head is not None and head.title == "first"
    for n, expected_delay in ((1, 2), (2, 4), (3, 5)):
        attempt = outbox.begin_attempt(db, head, T0)
        assert attempt.number == n and not attempt.possible_duplicate
        assert rows(db, "SELECT status FROM notify_deliveries WHERE id=?", head.id)[0]["status"] == "sending"
        next_at = outbox.finish_attempt(db, attempt, SendResult.again("down"), backoff, T0)
        assert next_at == T0 + timedelta(seconds=expected_delay)
        head = outbox.next_delivery(db, "telegram")
        assert head.title == "first", "the second alert must wait behind the first"
    attempt = outbox.begin_attempt(db, head, T0)
    outbox.finish_attempt(db, attempt, SendResult.again("429", retry_after=17, rate_limited=True), backoff, T0)
    assert outbox.next_delivery(db, "telegram").next_attempt_at == T0 + timedelta(seconds=17)
    attempt = outbox.begin_attempt(db, outbox.next_delivery(db, "telegram"), T0)
    outbox.finish_attempt(db, attempt, SendResult.ok("m1"), backoff, T0)
    assert outbox.next_delivery(db, "telegram").title == "second"
    statuses = [r["status"] for r in rows(db, "SELECT status FROM notify_attempts ORDER BY id")]
    assert statuses == ["retry", "retry", "retry", "rate_limited", "sent"]
    [d] = rows(db, "SELECT status, attempts, remote_id FROM notify_deliveries WHERE outbox_id=1")
    assert d == {"status": "sent", "attempts": 5, "remote_id": "m1"}


def test_backlog_reports_waiting_per_channel(db):
    enqueue_alert(db, "critical", "k", "c", "b", now=T0)
    outbox.route_pending(db, ROUTING, T0)
    assert {b.channel: b.waiting for b in outbox.backlog(db)} == {"telegram": 1, "discord": 1, "pager": 1}


def test_message_builders_enqueue(db):
    oid = outbox.enqueue(db, messages.agent_down("futures", "heartbeat 300s old"), now=T0)
    outbox.enqueue(db, messages.agent_down("futures", "heartbeat 300s old"), now=T0 + timedelta(seconds=1))
    [row] = rows(db, "SELECT id, severity, count, dedup_key FROM notify_outbox")
    assert row == {"id": oid, "severity": "critical", "count": 2, "dedup_key": "agent_down:futures"}


def test_deliveries_for_channels_no_longer_configured_are_settled(db):
    enqueue_alert(db, "critical", "k", "c", "b", now=T0)
    outbox.route_pending(db, ROUTING, T0)
    assert outbox.abandon_unconfigured(db, ["telegram"], T0) == 2
    got = rows(db, "SELECT channel, status FROM notify_deliveries ORDER BY channel")
    assert got == [{"channel": "discord", "status": "failed"}, {"channel": "pager", "status": "failed"},
                   {"channel": "telegram", "status": "pending"}]
