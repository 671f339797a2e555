"""Health: heartbeat and readiness queries, the watchdog (restart a hung agent, escalate when restarts do not help),
the supervisord event listener, the on-call health check and the live dashboard.

    python -m shared.health watchdog [--agent NAME] [--once]   supervisord program `watchdog` (or one check, for cron)
    python -m shared.health listener                          supervisord [eventlistener:alerts]
    python -m shared.health check [--json] [--notify] [--fix] scripts/health_check.sh
    python -m shared.health dashboard [--once]                scripts/monitoring_status.sh
"""
