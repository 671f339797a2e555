"""Operator commands, independent of the chat service: deny by default, answer read-only commands from the
database, turn acting commands into control requests, guard /flatten and /killswitch with a one-time code that must
come back within the confirmation window. Every command and every refusal is a row in `events` (agent='notifier').
"""
from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from shared.audit.db import transaction
from shared.clock import Clock, WallClock, iso
from shared.notify import messages, outbox, reports
from shared.notify.control import write_control_requests
from shared.notify.render import reply_text
from shared.notify.timefmt import age_text, parse_iso
from shared.risk.kill_switch import engage_kill_switch

READ_ONLY = ("status", "positions", "pnl", "health", "help")
SIMPLE_ACTIONS = ("pause", "resume", "stopentry")
CONFIRM_REQUIRED = ("flatten", "killswitch")
ALL_COMMANDS = READ_ONLY + SIMPLE_ACTIONS + CONFIRM_REQUIRED + ("confirm",)

DESCRIPTIONS = {
    "status": "agents, heartbeats, equity, kill switch",
    "positions": "open positions",
    "pnl": "today's PnL per agent",
    "health": "heartbeats, errors, notification backlog",
    "pause": "[agent|all] pause trading (no new orders)",
    "resume": "[agent|all] resume after pause/stopentry",
    "stopentry": "[agent|all] stop new entries, keep managing exits",
    "flatten": "[agent|all] close all positions (needs /confirm)",
    "killswitch": "stop all trading now (needs /confirm)",
    "confirm": "<code> confirm /flatten or /killswitch",
    "help": "this list",
}


@dataclass(frozen=True)
class CommandRequest:
    command: str
    args: tuple[str, ...] = ()
    user_id: int | None = None
    username: str | None = None
    chat_id: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class CommandPolicy:
    allowed_user_ids: frozenset[int]
    agents: tuple[str, ...]
    kill_switch_path: Path
    confirm_timeout_s: float = 60.0
    stale_after_s: float = 120.0  # commands older than this (e.g. queued while the notifier was down) are ignored
    stale_heartbeat_s: float = reports.DEFAULT_STALE_HEARTBEAT_S


@dataclass
class CommandService:
    conn: sqlite3.Connection
    policy: CommandPolicy
    mode: str
    redact: Callable[[str], str]
    clock: Clock = field(default_factory=WallClock)
    source: str = "telegram"

    # -- the gate --------------------------------------------------------------------------------------
    def is_allowed(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.policy.allowed_user_ids

    def refuse(self, req: CommandRequest, reason: str = "user is not on TB_TELEGRAM_ALLOWED_USER_IDS") -> None:
        with transaction(self.conn):
            self._event(req, "command_refused", "warning", f"refused /{req.command} from {self._who(req)}: {reason}",
                        outcome="refused", reason=reason)

    # -- dispatch --------------------------------------------------------------------------------------
    def handle(self, req: CommandRequest) -> str | None:
        """The reply to send back, or None to stay silent (a refused user learns nothing)."""
        if not self.is_allowed(req.user_id):
            self.refuse(req)
            return None
        command = req.command.lower()
        now = self.clock.now()
        if req.sent_at is not None and (now - req.sent_at).total_seconds() > self.policy.stale_after_s:
            age = age_text((now - req.sent_at).total_seconds())
            with transaction(self.conn):
                self._event(req, "command_stale", "warning", f"ignored /{command} sent {age} ago", outcome="stale")
            return self._reply(f"Ignored /{command}: it was sent {age} ago. Send it again if you still mean it.")
        if command in READ_ONLY:
            text = self._read_only(command, now)
            with transaction(self.conn):
                self._event(req, "command", "info", f"/{command} by {self._who(req)}", outcome="answered")
            return self._reply(text)
        if command in SIMPLE_ACTIONS:
            return self._act(req, command, now)
        if command in CONFIRM_REQUIRED:
            return self._ask_confirmation(req, command, now)
        if command == "confirm":
            return self._confirm(req, now)
        with transaction(self.conn):
            self._event(req, "command_unknown", "info", f"unknown /{command} from {self._who(req)}", outcome="unknown")
        return self._reply(f"Unknown command /{command}.\n\n{self.help_text()}")

    def help_text(self) -> str:
        return "Commands:\n" + "\n".join(f"/{c} {DESCRIPTIONS[c]}" for c in ALL_COMMANDS)

    # -- read-only -------------------------------------------------------------------------------------
    def _read_only(self, command: str, now: datetime) -> str:
        agents, ks = self.policy.agents, self.policy.kill_switch_path
        if command == "status":
            return reports.status_text(self.conn, agents, now, ks)
        if command == "positions":
            return reports.positions_text(self.conn, agents)
        if command == "pnl":
            return reports.pnl_text(self.conn, agents, now)
        if command == "health":
            return reports.health_text(self.conn, agents, now, ks, self.policy.stale_heartbeat_s)
        return self.help_text()

    # -- acting ----------------------------------------------------------------------------------------
    def _targets(self, command: str, args: tuple[str, ...]) -> list[str] | None:
        if command == "killswitch":
            return list(self.policy.agents)  # the kill switch is fleet-wide
        if not args or args[0].lower() == "all":
            return list(self.policy.agents)
        name = args[0].lower()
        return [name] if name in self.policy.agents else None

    def _reject(self, req: CommandRequest, command: str, reason: str) -> str:
        with transaction(self.conn):
            self._event(req, "command_rejected", "warning", f"rejected /{command} from {self._who(req)}: {reason}",
                        outcome="rejected", reason=reason)
        return self._reply(f"❌ /{command}: {reason}")

    def _act(self, req: CommandRequest, command: str, now: datetime) -> str:
        targets = self._targets(command, req.args)
        if targets is None:
            return self._reject(req, command, f"unknown agent {req.args[0]!r}; use one of "
                                              f"{', '.join(self.policy.agents)} or all")
        who = self._requester(req)
        with transaction(self.conn):
            ids = write_control_requests(self.conn, command, targets, who, source=self.source, now=now)
            self._event(req, "command", "warning", f"/{command} for {', '.join(targets)} by {self._who(req)}",
                        outcome="requested", control_request_ids=ids)
            outbox.enqueue(self.conn, messages.control_requested(command, targets, self._who(req)), now=now)
        return self._reply(f"✅ /{command} requested for {', '.join(targets)} (request {', '.join(map(str, ids))}).\n"
                           "Each agent applies it on its next cycle.")

    def _ask_confirmation(self, req: CommandRequest, command: str, now: datetime) -> str:
        targets = self._targets(command, req.args)
        if targets is None:
            return self._reject(req, command, f"unknown agent {req.args[0]!r}; use one of "
                                              f"{', '.join(self.policy.agents)} or all")
        code = f"{secrets.randbelow(10**6):06d}"
        expires = now + timedelta(seconds=self.policy.confirm_timeout_s)
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO command_confirmations(code, ts, expires_ts, command, agent, requested_by, chat_id)"
                " VALUES (?,?,?,?,?,?,?)", (code, iso(now), iso(expires), command, ",".join(targets),
                                            self._requester(req), req.chat_id))
            self._event(req, "command_confirmation_requested", "warning",
                        f"/{command} for {', '.join(targets)} by {self._who(req)} awaits confirmation",
                        outcome="awaiting_confirmation")
        what = "ENGAGE THE KILL SWITCH (all trading stops)" if command == "killswitch" else \
            f"FLATTEN every position of {', '.join(targets)}"
        return self._reply(f"⚠️ This will {what}.\nReply /confirm {code} within "
                           f"{self.policy.confirm_timeout_s:.0f} s to go ahead. Nothing has been done yet.")

    def _confirm(self, req: CommandRequest, now: datetime) -> str:
        if not req.args:
            return self._reject(req, "confirm", "missing code: reply /confirm <code>")
        code = req.args[0]
        row = self.conn.execute(
            "SELECT * FROM command_confirmations WHERE code=? AND requested_by=? AND status='pending'"
            " ORDER BY id DESC LIMIT 1", (code, self._requester(req))).fetchone()
        if row is None:
            return self._reject(req, "confirm", "no pending request with that code (wrong, used, or not yours)")
        command, targets = row["command"], row["agent"].split(",")
        if now > parse_iso(row["expires_ts"]):
            with transaction(self.conn):
                self.conn.execute("UPDATE command_confirmations SET status='expired' WHERE id=?", (row["id"],))
            return self._reject(req, "confirm", f"code expired; send /{command} again")
        who = self._requester(req)
        if command == "killswitch":
            # the file first: if the database write below fails, the fleet is still stopped (the safe side)
            engage_kill_switch(self.policy.kill_switch_path, f"/killswitch confirmed on {self.source}", now,
                               who=f"{self.source} user {self._who(req)}")
        with transaction(self.conn):
            done = self.conn.execute("UPDATE command_confirmations SET status='confirmed', confirmed_ts=?"
                                     " WHERE id=? AND status='pending'", (iso(now), row["id"])).rowcount
            if not done:
                raise RuntimeError("confirmation was used concurrently")
            ids = write_control_requests(self.conn, command, targets, who, source=self.source, now=now)
            self._event(req, "command", "critical", f"/{command} for {', '.join(targets)} confirmed by {self._who(req)}",
                        outcome="confirmed", control_request_ids=ids)
            outbox.enqueue(self.conn, messages.control_requested(command, targets, self._who(req)), now=now)
        extra = f"\nKill-switch file created: {self.policy.kill_switch_path}" if command == "killswitch" else ""
        return self._reply(f"✅ /{command} confirmed for {', '.join(targets)} (request {', '.join(map(str, ids))})."
                           f"{extra}")

    # -- helpers ---------------------------------------------------------------------------------------
    def _requester(self, req: CommandRequest) -> str:
        return f"{self.source}:{req.user_id}"

    @staticmethod
    def _who(req: CommandRequest) -> str:
        return f"{req.user_id}" + (f" (@{req.username})" if req.username else "")

    def _reply(self, text: str) -> str:
        return self.redact(reply_text(self.mode, text))

    def _event(self, req: CommandRequest, kind: str, severity: str, message: str, **data: object) -> None:
        payload = {"command": req.command, "args": list(req.args), "user_id": req.user_id, "username": req.username,
                   "chat_id": req.chat_id, "source": self.source, **data}
        self.conn.execute("INSERT INTO events(ts, agent, kind, severity, message, data) VALUES (?,?,?,?,?,?)",
                          (iso(self.clock.now()), "notifier", kind, severity, self.redact(message),
                           self.redact(json.dumps(payload, default=str))))
