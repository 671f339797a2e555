"""Process logging: UTC timestamps, one line per record, secrets redacted, LIVE marked in live mode."""
from __future__ import annotations

import logging
import sys
import time

from shared.config.settings import Settings


class RedactSecrets(logging.Filter):
    """Replace any configured secret value that would otherwise reach a log line."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            msg = record.getMessage()
            for secret in self._secrets:
                msg = msg.replace(secret, "***")
            record.msg, record.args = msg, None
        return True


def secret_values(settings: Settings) -> list[str]:
    """Values of secret-looking TB_* settings, from the environment and from .env (where they usually are)."""
    import os

    from dotenv import dotenv_values

    from shared.config.settings import SECRET_WORDS

    env_file = settings.root / ".env"
    values = {**(dotenv_values(env_file) if env_file.exists() else {}), **os.environ}
    return [v for k, v in values.items() if k.startswith("TB_") and any(n in k for n in SECRET_WORDS) and v]


def setup_logging(settings: Settings, process: str) -> None:
    prefix = "LIVE " if settings.mode == "live" else ""
    fmt = logging.Formatter(f"%(asctime)s.%(msecs)03dZ {prefix}{process} %(levelname)s %(name)s: %(message)s",
                            "%Y-%m-%dT%H:%M:%S")
    fmt.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(fmt)
    handler.addFilter(RedactSecrets(secret_values(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
