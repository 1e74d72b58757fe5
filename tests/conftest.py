import sys
from pathlib import Path

# Test helpers (the independent references) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))

from hypothesis import settings

# `HYPOTHESIS_PROFILE=thorough make test` runs every property with many more examples.
settings.register_profile("default", max_examples=50, deadline=None)
settings.register_profile("thorough", max_examples=1500, deadline=None)
settings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "default"))
