"""v4: the watchdog's memory per agent, so a restarted watchdog neither forgets that it gave up on an agent nor how
often it restarted it: the last recorded check result (to record on change), recent restarts, the failed mark."""
VERSION = 4
SQL = """
CREATE TABLE watchdog_state (
    agent TEXT PRIMARY KEY,
    signature TEXT, status TEXT, detail TEXT, recorded_ts TEXT,
    restarts TEXT NOT NULL DEFAULT '[]',
    failed_ts TEXT, failed_reason TEXT,
    updated_ts TEXT NOT NULL
)
"""
