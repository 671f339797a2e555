"""Redaction of secrets from every text that leaves the notifier (alerts, command replies, stored errors, logs).

Two nets: the exact values of secret settings (from pydantic settings objects and from environment variables
whose names contain KEY, SECRET, TOKEN, PASSWORD or WEBHOOK), and patterns for secrets we were never told about
(Telegram bot tokens, Discord webhook URLs, `api_key=...`-style pairs, bearer tokens).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, SecretStr

MASK = "[redacted]"
SECRET_NAME_PARTS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "WEBHOOK")
MIN_SECRET_LEN = 6

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Discord webhook: keep the host for context, drop id and token
    (re.compile(r"/api/webhooks/\d+/[A-Za-z0-9._~-]+"), f"/api/webhooks/{MASK}"),
    # Telegram bot token 123456789:AA... (also inside .../bot<token>/sendMessage)
    (re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{30,}"), MASK),
    # key=value pairs whose key names a secret (env lines, query strings)
    (re.compile(r"(?i)\b([a-z0-9_]*(?:api[_-]?key|secret|token|password|passwd|webhook)[a-z0-9_]*)(\s*=\s*)"
                r"(?!\[redacted\])([^\s,;&'\"]+)"), rf"\1\2{MASK}"),
    # key: value pairs, only when the value looks like a credential (has a digit, 8+ chars), e.g. JSON or YAML
    (re.compile(r"(?i)\b([a-z0-9_]*(?:api[_-]?key|secret|token|password|passwd)[a-z0-9_]*\"?)(\s*:\s*\"?)"
                r"(?=[^\s,;&'\"]*\d)(?!\[redacted\])([^\s,;&'\"]{8,})"), rf"\1\2{MASK}"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), f"Bearer {MASK}"),
)


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(part in upper for part in SECRET_NAME_PARTS)


def _variants(value: str) -> set[str]:
    """The value and the forms it takes inside URLs and tokens (URL-encoded, a token's secret half, a URL's path)."""
    out = {value, quote(value, safe="")}
    if ":" in value and not value.startswith(("http://", "https://")):
        out.add(value.split(":", 1)[1])
    if value.startswith(("http://", "https://")):
        parts = urlsplit(value)
        if parts.path.strip("/"):
            out.add(parts.path)
            out.add(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return {v for v in out if len(v) >= MIN_SECRET_LEN}


def secret_values(environ: Mapping[str, str] | None = None, models: Iterable[BaseModel] = ()) -> set[str]:
    """Every secret value we know of: env vars with a secret-sounding name, secret fields of settings objects."""
    values: set[str] = set()
    for name, value in (environ or {}).items():
        if value and is_secret_name(name):
            values |= _variants(value)
    for model in models:
        for name in type(model).model_fields:
            field_value = getattr(model, name, None)
            if isinstance(field_value, SecretStr):
                raw = field_value.get_secret_value()
            elif isinstance(field_value, str) and is_secret_name(name):
                raw = field_value
            else:
                continue
            if raw:
                values |= _variants(raw)
    return values


class Redactor:
    """Callable that masks known secret values and secret-looking patterns in a text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # longest first, so a URL is masked whole before its token part is
        self._secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)

    @classmethod
    def from_sources(cls, environ: Mapping[str, str] | None = None, models: Iterable[BaseModel] = ()) -> "Redactor":
        return cls(secret_values(environ, models))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class RedactingLogFilter(logging.Filter):
    """Applies a Redactor to every log record that passes through a handler (httpx logs URLs with the bot token)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logger's problem, not a reason to leak
            return True
        clean = self._redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
