"""Talk to our supervisord over its unix-socket XML-RPC interface."""
from __future__ import annotations

import xmlrpc.client
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport


def rpc(socket_path: Path, timeout: float = 5.0) -> Any:
    transport = SupervisorTransport(None, None, serverurl=f"unix://{socket_path}")
    transport.timeout = timeout  # type: ignore[attr-defined]
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def is_running(socket_path: Path) -> bool:
    """True if a supervisord answers on the socket (a stale socket file does not count)."""
    if not socket_path.exists():
        return False
    try:
        return rpc(socket_path).supervisor.getState()["statename"] in ("RUNNING", "RESTARTING")
    except (OSError, xmlrpc.client.Error):
        return False


def process_info(socket_path: Path) -> list[dict[str, Any]]:
    try:
        return list(rpc(socket_path).supervisor.getAllProcessInfo())
    except (OSError, xmlrpc.client.Error):
        return []
