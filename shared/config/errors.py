"""One error type for bad configuration, printed as one line and exit code 2."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from pydantic import ValidationError

CONFIG_EXIT_CODE = 2


class ConfigError(Exception):
    """A setting has a value we cannot run with. The message names setting, value and what is allowed."""

    def __init__(self, setting: str, value: Any, allowed: str) -> None:
        self.setting = setting
        self.value = value
        self.allowed = allowed
        super().__init__(f"config error: {setting}={value!r} is not valid; allowed: {allowed}")


def setting_error(exc: "ValidationError", hints: dict[str, str] | None = None,
                  hidden: tuple[str, ...] = ()) -> ConfigError:
    """The first error of a TB_* settings model as a ConfigError naming the environment variable.
    Values of fields whose name contains one of `hidden` (tokens, webhook URLs) are never echoed."""
    err = exc.errors()[0]
    name = str(err["loc"][0]) if err["loc"] else "?"
    value = "(hidden)" if any(h in name for h in hidden) else err.get("input")
    return ConfigError(f"TB_{name.upper()}", value, (hints or {}).get(name, err["msg"]))


def exit_on_config_error(err: ConfigError) -> NoReturn:
    print(str(err), file=sys.stderr)
    raise SystemExit(CONFIG_EXIT_CODE)
