"""Signals: what the agent thinks of each symbol this cycle (the cycle asks a SignalEngine)."""
