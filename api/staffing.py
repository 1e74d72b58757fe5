"""POST /v1/staffing computed: each queue's intervals staffed in one vectorized call.

Plain numpy on the request's arrays (no DataFrame), so a week of intervals takes about a
millisecond and small requests can be answered on the event loop."""

from __future__ import annotations

import numpy as np

from wfm.domain import ServiceTarget
from wfm.errors import InputError
from wfm.staffing import backoffice_requirement, required_agents, service_for_agents

from .schemas import StaffingQueue, StaffingRequest


def staff_request(req: StaffingRequest) -> dict:
    queues = []
    for i, q in enumerate(req.queues):
        try:
            queues.append(_staff_queue(q, q.target or req.target, req.interval_minutes, req.deadline_minutes))
        except InputError as exc:  # name the request field, e.g. queues[1].aht_seconds[7]
            where = f"body.queues[{i}].{exc.field}" + (f"[{exc.row}]" if exc.row is not None else "")
            raise InputError(where, exc.value, exc.reason) from None
    return {"interval_minutes": req.interval_minutes, "queues": queues}


def _staff_queue(q: StaffingQueue, target: ServiceTarget, minutes: int, deadline: float | None) -> dict:
    vol = np.asarray(q.volume, float)
    aht = np.asarray(q.aht_seconds, float)
    is_open = None if q.open is None else np.asarray(q.open, bool)
    model = "backoffice" if deadline is not None else ("erlang_a" if target.patience_seconds else "erlang_c") + (
        f"+concurrency{target.concurrency}" if target.concurrency > 1 else "")
    out = {"queue": q.queue, "model": model,
           "interval_start": [t.isoformat() for t in q.interval_start] if q.interval_start else None}
    if q.agents is not None and deadline is not None:
        raise InputError("agents", "given", "deadline_minutes staffs back-office work; a given headcount is for queues")
    if deadline is not None:
        res = backoffice_requirement(vol, aht, minutes, deadline, is_open,
                                     utilization=target.max_occupancy or 1.0, shrinkage=target.shrinkage)
        agents, scheduled = res["agents"], res["scheduled_agents"]
        out["workload_agents"] = np.asarray(res["workload_agents"], float)
        metrics = {}
    else:
        # with agents given, the reverse question: the service those agents give
        res = (required_agents(vol, aht, minutes, target, open_mask=is_open) if q.agents is None
               else service_for_agents(vol, aht, minutes, np.asarray(q.agents, float), target))
        agents, scheduled = res.agents, res.scheduled_agents
        metrics = {"service_level": res.service_level, "asa_seconds": res.asa_seconds, "occupancy": res.occupancy}
        if res.abandon_rate is not None:
            metrics["abandon_rate"] = res.abandon_rate
    # numpy arrays go to the response as they are (orjson writes them, NaN as null)
    out.update(agents=np.asarray(agents, np.int64), scheduled_agents=np.asarray(scheduled, np.int64))
    out.update({name: np.asarray(values, float) for name, values in metrics.items()})
    out["summary"] = _summary(vol, np.asarray(agents, float), np.asarray(scheduled, float), metrics, minutes)
    return out


def _summary(vol, agents, scheduled, metrics, minutes) -> dict:
    hours = minutes / 60.0
    out = {"contacts": float(vol.sum()), "peak_agents": int(agents.max()), "peak_scheduled": int(scheduled.max()),
           "agent_hours": float(agents.sum() * hours), "scheduled_hours": float(scheduled.sum() * hours)}
    if "occupancy" in metrics:  # busy agent-time over on-queue agent-time
        occ = np.nan_to_num(np.asarray(metrics["occupancy"], float))
        out["occupancy"] = float((occ * agents).sum() / agents.sum()) if agents.sum() else None
    for name in ("service_level", "asa_seconds", "abandon_rate"):
        if name in metrics:  # contact-weighted, over intervals where something was offered
            values = np.asarray(metrics[name], float)
            ok = ~np.isnan(values) & (vol > 0)  # an unbounded ASA (too few agents given) stays unbounded
            out[name] = float(np.average(values[ok], weights=vol[ok])) if ok.any() else None
    return out
