"""Domain model shared by the CLI, the API and every stage (pydantic v2, JSON-serializable).

Timestamps are timezone-aware. A planning day runs from local midnight to the next local
midnight, so a day on which daylight saving starts has 23 hours of intervals and the day
it ends has 25.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IntervalMinutes = Literal[15, 30, 60]


class Channel(str, Enum):
    voice = "voice"
    chat = "chat"            # concurrent sessions per agent
    email = "email"          # deferred work with a deadline
    backoffice = "backoffice"


def zone(name: str) -> ZoneInfo:
    from .errors import InputError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError("timezone", name, "not an IANA timezone name (e.g. 'Europe/Berlin')") from None


class Horizon(BaseModel):
    """The days being planned, in the site's local time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # within the years pandas' timestamps can hold, so a horizon never overflows while it is built
    start: date = Field(ge=date(1900, 1, 1), le=date(2199, 12, 31))
    days: int = Field(gt=0, le=366, strict=True)
    interval_minutes: IntervalMinutes = 30
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        zone(v)
        return v

    def day_start(self, day: date) -> pd.Timestamp:
        return pd.Timestamp(datetime.combine(day, datetime.min.time()), tz=zone(self.timezone))

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def interval_starts(self, day: date | None = None) -> pd.DatetimeIndex:
        """Interval starts (tz-aware) of one day or of the whole horizon.

        Built in UTC between local midnights, so DST days get 23 or 25 hours of intervals.
        """
        days = [day] if day is not None else self.dates()
        first = self.day_start(days[0])
        end = self.day_start(days[-1] + timedelta(days=1))
        utc = pd.date_range(first.tz_convert("UTC"), end.tz_convert("UTC"),
                            freq=f"{self.interval_minutes}min", inclusive="left")
        local = utc.tz_convert(self.timezone)
        off_grid = (local.hour * 60 + local.minute) % self.interval_minutes != 0
        if off_grid.any():  # e.g. Australia/Lord_Howe shifts its clocks by 30 minutes
            from .errors import InputError

            raise InputError("interval_minutes", self.interval_minutes,
                             f"{self.timezone} changes its clocks by less than that (at {local[off_grid][0]}); "
                             "use a shorter interval")
        return local

    def intervals_per_day(self) -> dict[date, int]:
        starts = self.interval_starts()
        return pd.Series(1, index=starts.date).groupby(level=0).sum().to_dict()


class ServiceTarget(BaseModel):
    """What "enough agents" means for a queue. Any combination of targets may be set;
    the requirement is the fewest agents meeting all of them."""

    model_config = ConfigDict(extra="forbid")  # a misspelt target must not silently fall back to a default

    service_level: float | None = Field(0.8, description="fraction answered within answer_seconds, in (0, 1)")
    answer_seconds: float = Field(20.0, description="service-level threshold T, seconds")
    max_asa_seconds: float | None = Field(None, description="average speed of answer cap, seconds")
    max_occupancy: float | None = Field(None, description="occupancy cap, in (0, 1]")
    max_abandon_rate: float | None = Field(None, description="abandoned/offered cap, in (0, 1); needs patience")
    patience_seconds: float | None = Field(None, description="mean caller patience; set to use Erlang A")
    shrinkage: float = Field(0.0, description="share of paid time not on queue, in [0, 1)")
    concurrency: int = Field(1, description="sessions an agent handles at once (chat)")
    min_agents: int = Field(0, description="minimum on-queue agents in every open interval")

    @model_validator(mode="after")
    def _check(self) -> "ServiceTarget":
        check_target_values(self)
        return self


def check_target_values(t: ServiceTarget) -> None:
    def bad(field, reason):
        raise ValueError(f"{field}={getattr(t, field)!r}: {reason}")

    for name in ("service_level", "answer_seconds", "max_asa_seconds", "max_occupancy", "max_abandon_rate",
                 "patience_seconds", "shrinkage"):
        value = getattr(t, name)
        if value is not None and not math.isfinite(value):
            bad(name, "must be a finite number")

    if t.service_level is not None and not 0 < t.service_level < 1:
        bad("service_level", "must be strictly between 0 and 1 (e.g. 0.8 for 80%)")
    if t.answer_seconds < 0:
        bad("answer_seconds", "must be >= 0")
    if t.max_asa_seconds is not None and t.max_asa_seconds <= 0:
        bad("max_asa_seconds", "must be > 0")
    if t.max_occupancy is not None and not 0 < t.max_occupancy <= 1:
        bad("max_occupancy", "must be in (0, 1]")
    if t.max_abandon_rate is not None and not 0 < t.max_abandon_rate < 1:
        bad("max_abandon_rate", "must be strictly between 0 and 1")
    if t.patience_seconds is not None and t.patience_seconds <= 0:
        bad("patience_seconds", "must be > 0")
    if not 0 <= t.shrinkage < 1:
        bad("shrinkage", "must be in [0, 1); 1 would mean nobody is ever on queue")
    if t.concurrency < 1:
        bad("concurrency", "must be >= 1")
    if t.min_agents < 0:
        bad("min_agents", "must be >= 0")
    if t.max_abandon_rate is not None and t.patience_seconds is None:
        bad("max_abandon_rate", "an abandonment target needs patience_seconds (Erlang A)")
    if all(v is None for v in (t.service_level, t.max_asa_seconds, t.max_occupancy, t.max_abandon_rate)):
        raise ValueError("no service target: set service_level, max_asa_seconds, max_occupancy or max_abandon_rate")


class Queue(BaseModel):
    id: str = Field(min_length=1)
    channel: Channel = Channel.voice
    target: ServiceTarget = ServiceTarget()


class IntervalSeries(BaseModel):
    """Volume and AHT per interval for one queue (long format, one entry per interval)."""

    queue: str = "all"
    interval_minutes: IntervalMinutes
    interval_start: list[datetime]
    volume: list[float]
    aht_seconds: list[float]
    open: list[bool] | None = None

    @model_validator(mode="after")
    def _check(self) -> "IntervalSeries":
        n = len(self.interval_start)
        for name in ("volume", "aht_seconds", "open"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                raise ValueError(f"{name}: has {len(values)} values for {n} intervals")
        for i, ts in enumerate(self.interval_start):
            if ts.tzinfo is None or ts.utcoffset() is None:
                raise ValueError(f"row {i}, interval_start={ts.isoformat()!r}: "
                                 "timestamp needs a UTC offset or timezone")
        return self

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"interval_start": pd.to_datetime(self.interval_start, utc=True),
                              "queue": self.queue, "volume": self.volume, "aht_seconds": self.aht_seconds})
        if self.open is not None:
            frame["open"] = self.open
        return frame
