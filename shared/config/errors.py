"""One error type for bad configuration, printed as one line and exit code 2."""
from __future__ import annotations

import sys
from typing import Any, NoReturn

CONFIG_EXIT_CODE = 2


class ConfigError(Exception):
    """A setting has a value we cannot run with. The message names setting, value and what is allowed."""

    def __init__(self, setting: str, value: Any, allowed: str) -> None:
        self.setting = setting
        self.value = value
        self.allowed = allowed
        super().__init__(f"config error: {setting}={value!r} is not valid; allowed: {allowed}")


def exit_on_config_error(err: ConfigError) -> NoReturn:
    print(str(err), file=sys.stderr)
    raise SystemExit(CONFIG_EXIT_CODE)
