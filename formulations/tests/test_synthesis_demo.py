"""The synthesis demo loads on top of the inventory demo, reproduces the paper's recipe, and is idempotent."""

from __future__ import annotations

import io
from typing import Any

import pytest

from formulations import demo, demo_synthesis
from formulations.models import Batch, Electrode, Membrane, Pellet, Recipe
from formulations.selectors_synthesis import version_composition
from lims.audit import acting_as
from lims.models import Membership

pytestmark = pytest.mark.django_db


def test_the_synthesis_demo_loads_the_paper_recipe_and_is_idempotent(team: Any, manager: Any) -> None:
    """PMA: 19.99 mmol LiFSI, 3.96 mol/kg; LLZTO-PMA 20 wt%: m_f = 0.2 x m_p / 0.8."""
    assert Membership.objects.filter(user=manager, team=team, role="manager").exists()
    out = io.StringIO()
    with acting_as(manager, reason="demo data", via="seed_demo"):
        demo.load(user=manager, team=team, stdout=out)
        demo_synthesis.load(user=manager, team=team, stdout=out)
        counts = [m.objects.count() for m in (Recipe, Batch, Membrane, Pellet, Electrode)]
        demo_synthesis.load(user=manager, team=team, stdout=out)
    assert [m.objects.count() for m in (Recipe, Batch, Membrane, Pellet, Electrode)] == counts
    assert counts == [2, 2, 7, 2, 2], out.getvalue()
    pma = Recipe.objects.get(name="PMA").versions.get(number=1)
    comp = version_composition(pma)
    assert comp["salt_amount_mmol"] == pytest.approx(19.99, abs=0.01)
    assert comp["salt_molality_mol_per_kg"] == pytest.approx(3.96, abs=0.01)
    series = Recipe.objects.get(name="LLZTO-PMA").versions.order_by("filler_fraction")
    assert [v.filler_fraction for v in series] == [0.0, 0.2, 0.4, 0.6]
    thick = sorted(round(m.thickness_from_mass) for m in Membrane.objects.filter(batch__code="B-DEMO-L20"))
    assert thick == [100, 200, 300, 400, 500, 600]
    assert Pellet.objects.get(code="P-DEMO-1").relative_density == pytest.approx(0.906, abs=0.01)
