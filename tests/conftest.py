import sys
from pathlib import Path

# Test helpers (the independent references) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))

from hypothesis import settings

# `HYPOTHESIS_PROFILE=thorough make test` runs every property with many more examples.
settings.register_profile("default", max_examples=50, deadline=None)
settings.register_profile("thorough", max_examples=1500, deadline=None)
settings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "default"))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def dask_address():
    """A small in-process Dask cluster (2 workers, threads) shared by the tests that need one."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address
