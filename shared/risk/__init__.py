"""Risk rules for both agents: sizing (conviction, volatility, Kelly), limits, fleet VaR and correlation,
the ACTIVE/REDUCING/HALTED state machine, the kill switch, and futures guards. docs/risk.md has every formula.

The agent cycle uses the facade: RiskEngine(config, profile).plan_entry(EntryRequest, PortfolioView) and
RiskEngine.review_state(PortfolioView)."""
from shared.risk.config import RiskBucket, RiskConfig
from shared.risk.engine import EntryPlan, RiskEngine, StateReview
from shared.risk.fleet_state import FLEET, StateEvent, TradingMode, TradingState, Transition, restore_state
from shared.risk.futures_guard import StopPlan
from shared.risk.kill_switch import KillSwitchStatus, engage_kill_switch, read_kill_switch, release_kill_switch
from shared.risk.sizing import SizeResult
from shared.risk.verdict import Rejection, RiskVerdict
from shared.risk.views import ClosedTrade, EntryRequest, EquityView, HeldPosition, PortfolioView

__all__ = [
    "FLEET", "ClosedTrade", "EntryPlan", "EntryRequest", "EquityView", "HeldPosition", "KillSwitchStatus",
    "PortfolioView", "Rejection", "RiskBucket", "RiskConfig", "RiskEngine", "RiskVerdict", "SizeResult",
    "StateEvent", "StateReview", "StopPlan", "TradingMode", "TradingState", "Transition", "engage_kill_switch",
    "read_kill_switch", "release_kill_switch", "restore_state",
]
