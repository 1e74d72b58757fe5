"""HiGHS, as the searches that solve LPs and MIPs with it make it."""

from __future__ import annotations


def new_highs():
    """A HiGHS instance. The core class, not `highspy.Highs`: that one switches callbacks on when
    it is made, which writes HiGHS's banner to stdout whatever `output_flag` says (and the CLI's
    output is one JSON line)."""
    try:
        from highspy.highs import _Highs as Highs
    except ImportError:  # a release without the core class exported there
        from highspy import Highs
    return Highs()
