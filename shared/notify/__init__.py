"""Notifications: a durable outbox any process writes to, and the notifier process that delivers it to Telegram,
Discord or the console, plus the Telegram command bot. Other code needs only:

    from shared.notify import enqueue_alert, enqueue, messages
    enqueue_alert(conn, "warning", "feed_stale", "BTC/USD feed stale", "no candle for 10 min", agent="hybrid")
    enqueue(conn, messages.trade_opened("futures", "BTC/USDT", "BUY", 0.01, 64000, leverage=3, reason="breakout"))

Importing this package does not import the Telegram or Discord libraries.
"""
from shared.notify import messages
from shared.notify.models import Alert, Severity
from shared.notify.outbox import DEFAULT_DEDUP_WINDOW_S, enqueue, enqueue_alert

__all__ = ["Alert", "DEFAULT_DEDUP_WINDOW_S", "Severity", "enqueue", "enqueue_alert", "messages"]
