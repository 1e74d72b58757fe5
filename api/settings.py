"""Service settings: defaults that need no server, overridable by environment variables.

Every knob is a `WFM_*` variable (see the README's "HTTP service" section). Authentication is
not among them: it can only be switched off by `wfm serve --no-auth`, which refuses to bind a
non-loopback address.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

DEFAULT_DATABASE_URL = "sqlite:///wfm-jobs.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    database_schema: str | None = None   # PostgreSQL schema for the tables (tests use one per run)
    auth: bool = True
    solver_processes: int = 1            # roster/plan jobs solving at once (one process each)
    max_solver_threads: int = 2          # CP-SAT threads per job (solver.workers), at most
    solver_niceness: int = 10            # job worker processes run this much nicer than HTTP (0-19)
    max_solve_seconds: float = 600.0     # solver time limit a job may ask for
    job_grace_seconds: float = 60.0      # a job is killed this long after its solver time limit
    max_attempts: int = 3                # a job whose worker keeps dying fails after this many starts
    lease_seconds: float = 15.0          # a running job whose owner stops renewing this is re-queued
    forecast_processes: int = 2          # processes for POST /v1/forecasts and /v1/kpis (one tenant: all but one)
    max_body_bytes: int = 20 * 1024 * 1024
    max_horizon_days: int = 62           # roster and plan horizons
    max_agents: int = 2000
    max_templates: int = 100
    max_intervals: int = 200_000         # staffing: intervals in one request, all queues together
    max_history_rows: int = 2_000_000    # forecasts: contact rows in one request
    max_history_bytes: int = 256 * 1024 * 1024  # forecasts: an upload's size once decompressed
    max_decompression_ratio: float = 100.0  # forecasts: decompressed / compressed bytes of an upload
    max_scenarios: int = 50              # scenarios in one scenario set
    max_replications: int = 100          # simulation replications a scenario set may ask for
    max_jobs_per_tenant: int = 20        # roster, plan and scenario jobs one tenant may have queued or running
    max_solver_seconds_per_hour: float = 0.0  # a tenant's job-process seconds in any hour (0: no quota)
    max_option_pairs: int = 3_000_000    # roster size: agents x shift options (a 1,000-agent week is 1.4M)
    inline_intervals: int = 5_000        # staffing requests up to this size run on the event loop
    poll_seconds: float = 0.2            # how often the job runner looks at the database

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        """`WFM_<FIELD>` for every field but `auth` (switched off only by `wfm serve --no-auth`)."""
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f"WFM_{f.name.upper()}")
            if raw is None or f.name == "auth":
                continue
            values[f.name] = _parse(f.name, raw, f.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _parse(name: str, raw: str, default):
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ValueError(f"WFM_{name.upper()}={raw!r}: not a number") from None
    return raw or None
