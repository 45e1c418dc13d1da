"""The dashboard's low-stock panel: below a threshold, or, without one, stocked once and now out of stock."""

from __future__ import annotations

from typing import Any

import pytest

from formulations import selectors_inventory as selectors
from formulations.services import inventory as services
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures)
from lims import dashboard

pytestmark = pytest.mark.django_db


def test_a_chemical_without_a_threshold_is_listed_once_its_stock_is_used_up(
    lifsi: Any, tetraglyme: Any, researcher: Any
) -> None:
    services.update_chemical(chemical=tetraglyme, actor=researcher, low_stock_threshold=None)
    # LiFSI (threshold 10 g, nothing on hand) is low throughout; G4 has no threshold
    assert list(selectors.low_stock_chemicals()) == [lifsi]  # G4 never stocked: not "out of stock"
    lot = services.receive_lot(chemical=tetraglyme, quantity="10 g", actor=researcher)
    assert list(selectors.low_stock_chemicals()) == [lifsi]
    services.consume_from_lot(lot=lot, amount="10 g", actor=researcher, purpose="all of it")
    low = list(selectors.low_stock_chemicals())
    assert low == [lifsi, tetraglyme] and low[1].on_hand_g == 0.0  # type: ignore[attr-defined]

    panels = dashboard.build(researcher)
    html = str(panels)
    assert "none set (out of stock)" in html
    assert "Every chemical is above" not in html
