"""Strict JSON for every file and stdout line wfm writes: NaN and infinity become null.

Python's json module writes `NaN` and `Infinity` by default, which strict parsers (JavaScript's
JSON.parse, jq, most databases) reject."""

from __future__ import annotations

import json
import math


def finite_or_none(value):
    """The same structure with every NaN or infinity replaced by None, recursively; numpy
    scalars become Python ones (duck-typed, so this module needs no numpy import)."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    if hasattr(value, "item") and hasattr(value, "dtype") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def strict_json(value, **kwargs) -> str:
    """json.dumps that never writes NaN/Infinity (they become null)."""
    return json.dumps(finite_or_none(value), allow_nan=False, **kwargs)
