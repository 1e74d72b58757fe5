"""Staffing math: how many agents each interval needs to meet a service target.

* `erlang`      Erlang B / Erlang C (M/M/N): waiting probability, SL, ASA, occupancy.
* `erlang_a`    Erlang A (M/M/N+M): abandonment with exponential patience.
* `requirements` required agents per interval for any combination of targets, chat
                concurrency, shrinkage, minimum staffing and closed hours.
* `backoffice`  deferred work (email, back office) with a completion deadline.
* `headcount`   the reverse question: the service a given number of agents gives.

Chat model and its limits: an agent works up to k sessions at once; the queue is modelled
as N x k interchangeable session slots, each with the per-session handle time measured at
that concurrency (so slow-down from multitasking is in the AHT you give). It assumes sessions
are independent and any free slot on any agent can take the next chat; it does not model an
agent finishing all sessions before logging off, nor handle time that changes with the
current number of sessions.
"""

from .backoffice import backoffice_requirement
from .erlang import asa_c, erlang_b, erlang_c, occupancy, service_level_c
from .erlang_a import ErlangAMetrics, erlang_a_metrics
from .headcount import service_for_agents
from .requirements import StaffingResult, evaluate, required_agents

__all__ = [
    "ErlangAMetrics", "StaffingResult", "asa_c", "backoffice_requirement", "erlang_a_metrics",
    "erlang_b", "erlang_c", "evaluate", "occupancy", "required_agents", "service_for_agents", "service_level_c",
]
