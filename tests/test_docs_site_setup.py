"""docs/site-setup.md and its example stay true: the annotated setup is a valid setup (the models
refuse unknown keys), and every field of the roster input's models is explained on the page."""

from __future__ import annotations

import re

import pytest
import yaml
from pydantic import ValidationError

from doc_examples import ROOT
from wfm.domain import Horizon
from wfm.roster.domain import (Agent, BreakRule, Contract, Preference, QueueRequirement, RosterInput, Rules,
                               ShiftRequirement, ShiftTemplate, SolverParams, Weights)
from wfm.site import setup_from_csv

DOC = ROOT / "docs" / "site-setup.md"
EXAMPLE = ROOT / "docs" / "examples" / "site_setup.yaml"
MODELS = (RosterInput, Horizon, QueueRequirement, ShiftRequirement, ShiftTemplate, BreakRule, Agent, Contract,
          Preference, Rules, Weights, SolverParams)


def example_input() -> tuple[dict, RosterInput]:
    setup = yaml.safe_load(EXAMPLE.read_text())
    horizon = Horizon(start="2026-05-25", days=7, interval_minutes=30, timezone="Europe/Berlin")
    need = [1] * len(horizon.interval_starts())
    data = {**setup, "horizon": horizon.model_dump(mode="json"),
            "requirements": [{"queue": "billing", "agents": need}, {"queue": "tech", "agents": need}]}
    return data, RosterInput.model_validate(data)


def test_the_annotated_example_is_a_valid_setup():
    _, validated = example_input()  # the models refuse unknown keys at any depth
    assert {t.id for t in validated.templates} == {"early", "day", "late", "night"}
    assert [a.id for a in validated.agents] == ["billing-01", "tech-01", "night-01"]


def test_a_misspelt_key_in_the_example_would_fail():
    data, _ = example_input()
    data["agents"][0]["contract"]["max_hour"] = 40
    with pytest.raises(ValidationError, match="max_hour"):
        RosterInput.model_validate(data)


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
