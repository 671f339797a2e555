"""One actor per agent at a time: the watchdog loop, a cron-run watchdog and `health_check.sh --fix` could otherwise
restart the same agent twice at once. An flock on run/watchdog_<agent>.lock, released when the holder dies."""
from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def agent_lock(lock_dir: Path | None, agent: str, wait_s: float = 0.0) -> Iterator[bool]:
    """Yield True while holding the lock, False if another process holds it for longer than `wait_s`."""
    if lock_dir is None:
        yield True
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"watchdog_{agent}.lock", "a+") as fh:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.1)
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
