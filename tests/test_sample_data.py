"""The sample history: what make_tickets.py makes, and service columns that hang together."""

import gzip
import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from forecasts.service import HistoryOptions
from wfm.kpi import KpiOptions, compute_kpis

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def tickets():
    return pd.read_csv(SAMPLE / "tickets.csv.gz", dtype=str, keep_default_na=False)


def test_the_committed_file_is_what_the_seeded_script_makes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_tickets", SAMPLE / "make_tickets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path / "tickets.csv.gz")
    # compared uncompressed: another zlib may compress the same text to other bytes
    made, committed = (gzip.decompress((folder / "tickets.csv.gz").read_bytes()) for folder in (tmp_path, SAMPLE))
    assert made == committed


def test_service_columns_hang_together(tickets):
    created = pd.to_datetime(tickets["created_at"], utc=True)
    wait = pd.to_numeric(tickets["wait_seconds"])
    abandoned = tickets["abandoned"] == "true"
    assert set(tickets["abandoned"]) == {"true", "false"} and (wait >= 0).all()
    answered = ~abandoned
    first = pd.to_datetime(tickets.loc[answered, "first_response_at"], utc=True)
    assert ((first - created[answered]).dt.total_seconds() == wait[answered]).all()  # answered after the wait
    assert (tickets.loc[abandoned, ["first_response_at", "resolved_at", "csat"]] == "").all().all()
    resolved = tickets["resolved_at"] != ""
    assert (pd.to_datetime(tickets.loc[resolved, "resolved_at"], utc=True) >= first[resolved[answered]]).all()
    scores = pd.to_numeric(tickets.loc[tickets["csat"] != "", "csat"])
    assert scores.between(1, 5).all() and scores.round().eq(scores).all()


def test_sample_kpis_are_plausible():
    table = compute_kpis(SAMPLE / "tickets.csv.gz", HistoryOptions(timezone="Europe/Berlin"),
                         KpiOptions(by="week")).table
    every = table[table["queue"] == "all"]
    assert len(every) == 20  # 20 weeks, Monday to Sunday
    assert every["service_level"].between(0.6, 0.95).all() and every["abandon_rate"].between(0.01, 0.1).all()
    assert every["csat_mean"].between(3, 5).all() and every["resolved_rate"].between(0.85, 1).all()
