"""Market metadata of the sim venue, as data: fees, lot steps, ticks, leverage caps, maintenance margin.

Values follow the real venues the agents are built for (Alpaca crypto spot; Binance USD-M perpetuals,
first leverage bracket) so that sizes and costs in sim look like what a user will see later.
"""
from __future__ import annotations

from shared.execution.models import MarketInfo

# base asset -> (lot step, tick size, max leverage, maintenance margin rate)
_FUTURES = {
    "BTC": (0.001, 0.1, 125, 0.004), "ETH": (0.001, 0.01, 100, 0.004), "SOL": (0.01, 0.01, 75, 0.005),
    "XRP": (0.1, 0.0001, 75, 0.005), "DOGE": (1.0, 0.00001, 75, 0.005), "ADA": (1.0, 0.0001, 75, 0.005),
}
_SPOT = {"BTC": (0.0001, 0.01), "ETH": (0.001, 0.01), "SOL": (0.01, 0.001), "XRP": (1.0, 0.0001)}
_DEFAULT_FUTURES = (0.001, 0.0001, 20, 0.01)
_DEFAULT_SPOT = (0.0001, 0.0001)


def sim_market(symbol: str, market: str) -> MarketInfo:
    base, _, rest = symbol.partition("/")
    quote = rest.split(":")[0]
    if market == "futures":
        step, tick, max_lev, mmr = _FUTURES.get(base, _DEFAULT_FUTURES)
        return MarketInfo(symbol, "futures", base, quote, step, tick, min_notional=5.0, max_leverage=max_lev,
                          maintenance_margin_rate=mmr, taker_fee=0.0005, maker_fee=0.0002, exchange_stops=True)
    step, tick = _SPOT.get(base, _DEFAULT_SPOT)
    return MarketInfo(symbol, "spot", base, quote, step, tick, min_notional=1.0, taker_fee=0.0025, maker_fee=0.0015)
