"""Turns an outbox delivery or a command reply into the final text a person reads: mode banner (LIVE in live mode),
severity, agent, title, body, repeat count, time. Redaction is applied by the caller, on the final text."""
from __future__ import annotations

from shared.notify.outbox import Delivery
from shared.notify.timefmt import hhmmss, short

DUPLICATE_NOTE = "↻ resent after the notifier restarted mid-send: this may be a duplicate"


def mode_tag(mode: str) -> str:
    """'🔴 LIVE' in live mode (every message in live mode says LIVE), '[SIM]', '[PAPER]', '[TESTNET]' otherwise."""
    return "🔴 LIVE" if mode == "live" else f"[{mode.upper()}]"


def alert_text(d: Delivery, mode: str, possible_duplicate: bool = False) -> str:
    head = f"{d.severity.emoji} {mode_tag(mode)} · {d.severity.value.upper()} · {d.agent}"
    lines = [head, d.title]
    if d.body:
        lines.append(d.body)
    if d.count > 1:
        lines.append(f"×{d.count} since {hhmmss(d.created_ts)} (last {hhmmss(d.last_seen_ts)})")
    lines.append(f"{short(d.created_ts)} · #{d.outbox_id}")
    if possible_duplicate:
        lines.append(DUPLICATE_NOTE)
    return "\n".join(lines)


def reply_text(mode: str, text: str) -> str:
    """A command reply; in live mode it starts with LIVE like every other message."""
    return f"{mode_tag(mode)}\n{text}" if mode == "live" else text


def fit(text: str, limit: int) -> str:
    """Shorten to a service's length limit, saying so, instead of having the message rejected."""
    if len(text) <= limit:
        return text
    marker = "\n…(truncated)"
    return text[: limit - len(marker)] + marker
