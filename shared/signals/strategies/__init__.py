"""Strategy plugins by name: profiles name them in YAML, this registry turns names + params into instances.

Adding a strategy: write a module with a Strategy subclass (name, Params, min_bars, _signals) and list the
class in _BUILTIN below. The registry is filled once at import and read-only afterwards.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from shared.config.errors import ConfigError
from shared.signals.base import SymbolContext
from shared.signals.strategies.base import Features, Signal, Strategy, StrategyParams
from shared.signals.strategies.breakout import Breakout
from shared.signals.strategies.mean_reversion import MeanReversion
from shared.signals.strategies.momentum import Momentum
from shared.signals.strategies.short_momentum import ShortMomentum
from shared.signals.strategies.vwap_reversion import VwapReversion

_BUILTIN: tuple[type[Strategy[Any]], ...] = (Momentum, MeanReversion, Breakout, VwapReversion, ShortMomentum)
REGISTRY: Mapping[str, type[Strategy[Any]]] = MappingProxyType({cls.name: cls for cls in _BUILTIN})

StrategySpec = Mapping[str, Mapping[str, Any] | None] | Sequence[str]

__all__ = ["REGISTRY", "Features", "Signal", "Strategy", "StrategyParams", "build_strategies", "build_strategy",
           "run_strategies", "strategy_class", "strategy_names"]


def strategy_names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def strategy_class(name: str, setting: str = "strategies") -> type[Strategy[Any]]:
    """The class registered under `name`; an unknown name is a ConfigError listing the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(setting, name, "one of " + ", ".join(sorted(REGISTRY))) from None


def build_strategy(name: str, params: Mapping[str, Any] | None = None, setting: str = "strategies") -> Strategy[Any]:
    """One strategy with its params validated; a bad param is a ConfigError naming `setting.name.param`."""
    cls = strategy_class(name, setting)
    try:
        return cls(cls.Params(**dict(params or {})))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"{setting}.{name}" + (f".{loc}" if loc else ""), err.get("input"), err["msg"]) from None


def build_strategies(spec: StrategySpec, setting: str = "strategies") -> dict[str, Strategy[Any]]:
    """Instances from a profile's `strategies:` block, in its order.

    Accepts a mapping name -> params ({} or null = defaults) or a plain list of names.
    """
    items: Iterable[tuple[str, Mapping[str, Any] | None]]
    if isinstance(spec, Mapping):
        items = spec.items()
    elif isinstance(spec, (str, bytes)):
        raise ConfigError(setting, spec, "a mapping of strategy name -> params, or a list of names")
    else:
        items = ((name, None) for name in spec)
    built: dict[str, Strategy[Any]] = {}
    for name, params in items:
        if params is not None and not isinstance(params, Mapping):
            raise ConfigError(f"{setting}.{name}", params, "a mapping of params (or {} for the defaults)")
        built[name] = build_strategy(name, params, setting)
    return built


def run_strategies(strategies: Mapping[str, Strategy[Any]], names: Iterable[str], ctx: SymbolContext,
                   features: Features | None = None) -> list[Signal]:
    """Signals from the named strategies (typically the gate's allowed list), sharing one Features."""
    f = features if features is not None else Features(ctx.base)
    out: list[Signal] = []
    for name in names:
        out.extend(strategies[name].evaluate(ctx, f))
    return out
