"""Host checks: the database file (integrity, WAL size), disk space, memory and CPU, via psutil."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import psutil

from shared.health.checks import CheckContext, CheckResult
from shared.health.status import Status


def _mb(n: float) -> str:
    return f"{n / 1024**2:,.1f} MB" if n < 1024**3 else f"{n / 1024**3:,.2f} GB"


def check_database(ctx: CheckContext) -> CheckResult:
    db = ctx.places.db_path
    if ctx.conn is None:
        return CheckResult("database", Status.CRITICAL, f"no database at {db} (the fleet creates it on start)")
    wal = Path(f"{db}-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    size = db.stat().st_size if db.exists() else 0
    data = {"path": str(db), "size_bytes": size, "wal_bytes": wal_size}
    try:
        rows = [r[0] for r in ctx.conn.execute("PRAGMA quick_check").fetchall()]
        version = ctx.conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return CheckResult("database", Status.CRITICAL, f"cannot check {db}: {exc}", data)
    data.update({"quick_check": rows[:5], "schema_version": version})
    text = f"{_mb(size)}, WAL {_mb(wal_size)}, schema v{version}"
    if rows != ["ok"]:
        return CheckResult("database", Status.CRITICAL, f"integrity check failed: {'; '.join(rows[:3])} ({text})", data)
    lim = ctx.host
    if wal_size >= lim.wal_crit_bytes:
        return CheckResult("database", Status.CRITICAL, f"WAL is huge, a reader may block checkpoints ({text})", data)
    if wal_size >= lim.wal_warn_bytes:
        return CheckResult("database", Status.WARNING, f"WAL is large ({text})", data)
    return CheckResult("database", Status.OK, f"quick_check ok, {text}", data)


def check_disk(ctx: CheckContext) -> CheckResult:
    where = ctx.places.db_path.parent if ctx.places.db_path.parent.exists() else ctx.places.root
    usage = psutil.disk_usage(str(where))
    free_pct = 100.0 - usage.percent
    lim = ctx.host
    data = {"path": str(where), "free_bytes": usage.free, "total_bytes": usage.total, "free_pct": round(free_pct, 1)}
    text = f"{_mb(usage.free)} free of {_mb(usage.total)} ({free_pct:.0f} %) at {where}"
    if free_pct < lim.disk_crit_free_pct or usage.free < lim.disk_crit_free_bytes:
        return CheckResult("disk", Status.CRITICAL, text, data)
    if free_pct < lim.disk_warn_free_pct or usage.free < lim.disk_warn_free_bytes:
        return CheckResult("disk", Status.WARNING, text, data)
    return CheckResult("disk", Status.OK, text, data)


def check_memory(ctx: CheckContext) -> CheckResult:
    vm = psutil.virtual_memory()
    avail_pct = vm.available * 100.0 / vm.total
    rss = _fleet_rss(ctx)
    data = {"available_bytes": vm.available, "total_bytes": vm.total, "available_pct": round(avail_pct, 1),
            "fleet_rss_bytes": rss}
    text = f"{_mb(vm.available)} available of {_mb(vm.total)} ({avail_pct:.0f} %); fleet uses {_mb(sum(rss.values()))}"
    if avail_pct < ctx.host.mem_crit_available_pct:
        return CheckResult("memory", Status.CRITICAL, text, data)
    if avail_pct < ctx.host.mem_warn_available_pct:
        return CheckResult("memory", Status.WARNING, text, data)
    return CheckResult("memory", Status.OK, text, data)


def _fleet_rss(ctx: CheckContext) -> dict[str, int]:
    out = {}
    for name, prog in ctx.programs.items():
        if prog.pid:
            try:
                out[name] = psutil.Process(prog.pid).memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    return out


def check_cpu(ctx: CheckContext) -> CheckResult:
    """Judged on the 1-minute load per core (smoothed) where there is one: a busy moment is not a problem."""
    pct = psutil.cpu_percent(interval=ctx.host.cpu_sample_s)
    load = psutil.getloadavg()[0] if hasattr(psutil, "getloadavg") else None
    cores = psutil.cpu_count() or 1
    fleet = _fleet_cpu(ctx)
    data = {"cpu_pct": pct, "load1": load, "cores": cores, "fleet_cpu_pct": fleet}
    text = f"{pct:.0f} % busy" + (f", load {load:.2f} on {cores} cores" if load is not None else "")
    if fleet:
        text += "; " + ", ".join(f"{k} {v:.0f} %" for k, v in sorted(fleet.items()))
    busy = load / cores >= ctx.host.load_warn_per_core if load is not None else pct >= ctx.host.cpu_warn_pct
    return CheckResult("cpu", Status.WARNING if busy else Status.OK, text, data)


def _fleet_cpu(ctx: CheckContext) -> dict[str, float]:
    """Each program's CPU share since it started (cheap: no second sample)."""
    out = {}
    for name, prog in ctx.programs.items():
        if prog.pid and prog.started_at:
            try:
                t = psutil.Process(prog.pid).cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            up = max(1.0, ctx.now.timestamp() - prog.started_at)
            out[name] = round(100.0 * (t.user + t.system) / up, 1)
    return out


def check_logs(ctx: CheckContext) -> CheckResult:
    from datetime import timedelta

    from shared.health.logscan import recent_errors

    window = ctx.host.log_window_s
    errors = recent_errors(ctx.places.log_dir, ctx.now - timedelta(seconds=window))
    minutes = f"{window / 60:g} min"
    if not errors:
        return CheckResult("recent log errors", Status.OK, f"none in the last {minutes}")
    latest = errors[-1]
    data = {"errors": [{"file": e.file, "ts": e.ts, "line": e.text} for e in errors]}
    return CheckResult("recent log errors", Status.WARNING,
                       f"{len(errors)} in the last {minutes}; latest in {latest.file}: {latest.text}", data)
