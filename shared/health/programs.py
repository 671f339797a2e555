"""The supervisord side of health: each program's state, and the hard restart a hung agent needs.

supervisord's own stop sends SIGTERM and waits `stopwaitsecs` before SIGKILL; a SIGSTOPped or deadlocked agent would
sit out the whole wait. So we ask supervisord to stop (it records an expected stop, so no EXITED alert follows),
wake a stopped process with SIGCONT so it can honour the TERM, and SIGKILL its process group after a short grace.
"""
from __future__ import annotations

import os
import signal
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil

from shared.fleet.supervisor_client import is_running, rpc

DOWN_STATES = frozenset({"STOPPED", "EXITED", "FATAL", "UNKNOWN"})
TRANSIENT_STATES = frozenset({"STARTING", "BACKOFF", "STOPPING"})


class ControlError(RuntimeError):
    """supervisord refused or could not be reached; the message says which program and why."""


@dataclass(frozen=True)
class ProgramState:
    name: str
    state: str                 # supervisord statename: RUNNING, STARTING, BACKOFF, STOPPING, STOPPED, EXITED, FATAL
    pid: int | None
    started_at: float | None   # epoch seconds of the last start (kept while stopped)
    description: str = ""
    exitstatus: int | None = None
    os_status: str | None = None   # psutil's view of the pid: running, sleeping, stopped (SIGSTOP), zombie, ...

    @property
    def running(self) -> bool:
        return self.state == "RUNNING"

    @property
    def down(self) -> bool:
        return self.state in DOWN_STATES


class Control(Protocol):
    """What the watchdog and the health check need from the process supervisor."""

    def available(self) -> bool: ...

    def programs(self) -> dict[str, ProgramState]: ...

    def start(self, name: str) -> str: ...

    def stop(self, name: str, kill_grace_s: float) -> str: ...

    def restart(self, name: str, kill_grace_s: float) -> str: ...


def _os_status(pid: int | None) -> str | None:
    if not pid:
        return None
    try:
        return str(psutil.Process(pid).status())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def program_state(info: dict) -> ProgramState:
    pid = int(info.get("pid") or 0) or None
    return ProgramState(info["name"], info["statename"], pid, float(info["start"]) if info.get("start") else None,
                        info.get("description", ""), info.get("exitstatus"), _os_status(pid))


class SupervisorControl:
    """Our supervisord over its unix socket (shared.fleet.supervisor_client)."""

    def __init__(self, socket_path: Path, timeout_s: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout_s = timeout_s

    def _rpc(self):  # type: ignore[no-untyped-def]
        return rpc(self.socket_path, self.timeout_s).supervisor

    def available(self) -> bool:
        return is_running(self.socket_path)

    def programs(self) -> dict[str, ProgramState]:
        try:
            return {i["name"]: program_state(i) for i in self._rpc().getAllProcessInfo()}
        except (OSError, xmlrpc.client.Error):
            return {}

    def _info(self, name: str) -> ProgramState:
        try:
            return program_state(self._rpc().getProcessInfo(name))
        except (OSError, xmlrpc.client.Error) as exc:
            raise ControlError(f"supervisord: cannot read {name}: {exc}") from None

    def start(self, name: str) -> str:
        before = self._info(name).state
        if before in ("RUNNING", "STARTING"):
            return f"{name} was already {before}"
        try:
            if before == "BACKOFF":  # supervisord is between retries; a stop resets its retry count
                self._rpc().stopProcess(name, True)
            self._rpc().startProcess(name, False)
        except xmlrpc.client.Fault as exc:
            if "ALREADY_STARTED" not in exc.faultString:
                raise ControlError(f"supervisord refused to start {name}: {exc.faultString}") from None
        except OSError as exc:
            raise ControlError(f"supervisord: cannot start {name}: {exc}") from None
        return f"started {name} (was {before})"

    def stop(self, name: str, kill_grace_s: float) -> str:
        info = self._info(name)
        if info.down:
            return f"{name} was already {info.state}"
        try:
            if info.state != "STOPPING":
                self._rpc().stopProcess(name, False)  # returns at once; supervisord sends TERM and records the stop
        except xmlrpc.client.Fault as exc:
            if "NOT_RUNNING" not in exc.faultString:
                raise ControlError(f"supervisord refused to stop {name}: {exc.faultString}") from None
        except OSError as exc:
            raise ControlError(f"supervisord: cannot stop {name}: {exc}") from None
        _signal_group(info.pid, signal.SIGCONT)  # a SIGSTOPped process cannot act on the TERM until continued
        if self._wait_down(name, kill_grace_s):
            return f"stopped {name} (pid {info.pid})"
        _signal_group(info.pid, signal.SIGKILL)
        if not self._wait_down(name, 10.0):
            raise ControlError(f"{name} (pid {info.pid}) did not stop even after SIGKILL")
        return f"killed {name} (pid {info.pid}, SIGKILL after {kill_grace_s:g} s)"

    def restart(self, name: str, kill_grace_s: float) -> str:
        stopped = self.stop(name, kill_grace_s)
        return f"{stopped}; {self.start(name)}"

    def _wait_down(self, name: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            if self._info(name).down:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)


def _signal_group(pid: int | None, sig: signal.Signals) -> None:
    """supervisord starts each program in its own process group (pgid == pid); signal the whole group."""
    if not pid:
        return
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
