"""futures: the USD-M perpetuals agent (long and short, leverage from the profile, venue-side stops)."""
from shared.cycle import AgentSpec

SPEC = AgentSpec(name="futures", market="futures", allow_short=True, profile_setting="TB_FUTURES_PROFILE")
