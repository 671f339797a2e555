"""hybrid: the spot agent (Alpaca crypto pairs; long only)."""
from shared.cycle import AgentSpec

SPEC = AgentSpec(name="hybrid", market="spot", allow_short=False, profile_setting="TB_HYBRID_PROFILE")
