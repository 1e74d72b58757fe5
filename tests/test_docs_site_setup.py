"""docs/site-setup.md and its example stay true: the annotated setup is a valid setup with no
unknown key, and every field of the roster input's models is explained on the page."""

from __future__ import annotations

import re

import pytest
import yaml
from pydantic import BaseModel

from doc_examples import ROOT
from wfm.domain import Horizon
from wfm.roster.domain import (Agent, BreakRule, Contract, Preference, QueueRequirement, RosterInput, Rules,
                               ShiftRequirement, ShiftTemplate, SolverParams, Weights)
from wfm.site import setup_from_csv

DOC = ROOT / "docs" / "site-setup.md"
EXAMPLE = ROOT / "docs" / "examples" / "site_setup.yaml"
MODELS = (RosterInput, Horizon, QueueRequirement, ShiftRequirement, ShiftTemplate, BreakRule, Agent, Contract,
          Preference, Rules, Weights, SolverParams)


def unknown_keys(data, model, path="") -> list[str]:
    """Keys in `data` that `model` (validated from it) has no field for, at any depth."""
    if isinstance(data, dict) and isinstance(model, BaseModel):
        found = [f"{path}.{k}" for k in data if k not in type(model).model_fields]
        return found + [m for k, v in data.items() if k in type(model).model_fields
                        for m in unknown_keys(v, getattr(model, k), f"{path}.{k}")]
    if isinstance(data, list) and isinstance(model, list):
        return [m for i, (d, v) in enumerate(zip(data, model)) for m in unknown_keys(d, v, f"{path}[{i}]")]
    return []


def example_input() -> tuple[dict, RosterInput]:
    setup = yaml.safe_load(EXAMPLE.read_text())
    horizon = Horizon(start="2026-05-25", days=7, interval_minutes=30, timezone="Europe/Berlin")
    need = [1] * len(horizon.interval_starts())
    data = {**setup, "horizon": horizon.model_dump(mode="json"),
            "requirements": [{"queue": "billing", "agents": need}, {"queue": "tech", "agents": need}]}
    return data, RosterInput.model_validate(data)


def test_the_annotated_example_is_a_valid_setup_with_no_unknown_key():
    data, validated = example_input()
    assert unknown_keys(data, validated) == []
    assert {t.id for t in validated.templates} == {"early", "day", "late", "night"}


def test_the_key_check_finds_a_misspelt_nested_key():
    data, validated = example_input()
    data["agents"][0]["contract"]["max_hour"] = 40
    assert unknown_keys(data, RosterInput.model_validate(data)) == [".agents[0].contract.max_hour"]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_explained_on_the_page(model):
    prose = re.sub(r"```.*?```", "", DOC.read_text(), flags=re.S)  # the tables and text, not the examples
    code = " ".join(re.findall(r"`([^`]+)`", prose))
    missing = [name for name in model.model_fields if not re.search(rf"\b{name}\b", code)]
    assert missing == [], f"docs/site-setup.md does not explain {model.__name__}.{missing}"


def test_the_staff_list_example_converts_with_the_example_base():
    setup = setup_from_csv(ROOT / "docs" / "examples" / "staff.csv", EXAMPLE)
    assert [a["id"] for a in setup["agents"]] == ["billing-01", "billing-02", "tech-01", "night-01"]
    assert setup["templates"] == yaml.safe_load(EXAMPLE.read_text())["templates"]
