"""Bulk receive from a supplier's CSV: every row checked, all received or none, problems named by row and column."""

from __future__ import annotations

import pytest

from formulations.csv_import import CsvImportError, RowError, parse_delivery, receive_delivery
from formulations.models import StockLot, StockTransaction
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures)

pytestmark = pytest.mark.django_db

GOOD = """chemical,quantity,supplier,supplier_lot_number,purity,received_on,expires_on,location,water_content,code
LiFSI,25 g,Aladdin,A123,99.5%,2026-01-10,2027-01-10,Building A > Lab 101 > Glovebox 1 > Shelf 1,,L-CSV1
tetraglyme,100 mL,Aladdin,B456,0.99,2026-01-10,2028-01-10,Shelf 1,18 ppm,L-CSV2
143-24-8,0.5 kg,,,,2026-01-10,,,,
"""


def test_a_good_delivery_is_received_row_by_row_with_units_and_synonyms(
    lifsi, tetraglyme, aladdin, shelf, researcher
):
    lots = receive_delivery(text=GOOD, actor=researcher)
    assert [(lot.chemical, lot.quantity_on_hand, lot.quantity_unit) for lot in lots] == [
        (lifsi, 25.0, "g"),
        (tetraglyme, 100.0, "mL"),
        (tetraglyme, 500.0, "g"),
    ]
    first, second, _ = lots
    assert (first.code, first.purity, first.location, first.supplier) == (
        "L-CSV1",
        pytest.approx(0.995),
        shelf,
        aladdin,
    )
    assert (second.water_content, second.location) == (pytest.approx(18.0), shelf)
    assert StockTransaction.objects.filter(kind="receive", actor=researcher).count() == 3


def test_one_bad_row_receives_nothing_and_every_problem_is_named_by_row_and_column(
    lifsi, tetraglyme, aladdin, shelf, researcher
):
    text = """chemical,quantity,received_on,expires_on,location,purity
LiFSI,25 g,2026-01-10,2027-01-10,Shelf 1,99.5%
unobtainium,5 g,2026-01-10,,,
LiFSI,5 g,2026-13-01,,,
tetraglyme,25 degC,10/01/2026,,Freezer 9,
LiFSI,-3 g,2026-02-01,2026-01-01,,150%
"""
    with pytest.raises(CsvImportError) as caught:
        receive_delivery(text=text, actor=researcher)
    errors = caught.value.errors
    assert StockLot.objects.count() == 0
    assert StockTransaction.objects.count() == 0
    cells = {(e.row, e.column) for e in errors}
    assert cells == {
        (3, "chemical"),
        (4, "received_on"),  # month 13
        (5, "quantity"),
        (5, "received_on"),
        (5, "location"),
        (6, "quantity"),
        (6, "expires_on"),
        (6, "purity"),
    }
    by_cell = {(e.row, e.column): e.message for e in errors}
    assert "unknown chemical 'unobtainium'" in by_cell[(3, "chemical")]
    assert "expected a date as YYYY-MM-DD, got '2026-13-01'" == by_cell[(4, "received_on")]
    assert "expected a mass or a volume" in by_cell[(5, "quantity")]
    assert "YYYY-MM-DD" in by_cell[(5, "received_on")]
    assert "cannot be negative" in by_cell[(6, "quantity")]
    assert "before the date received" in by_cell[(6, "expires_on")]
    assert "Nothing was received" in str(caught.value)


def test_a_file_with_a_missing_or_unknown_column_is_refused_at_the_header(lifsi):
    rows, errors = parse_delivery("chemical,amount\nLiFSI,5 g\n")
    assert rows == []
    assert [str(e) for e in errors] == [
        "row 1: missing column(s): quantity",
        "row 1: unknown column(s): amount (known: "
        + ", ".join(__import__("formulations.csv_import", fromlist=["COLUMNS"]).COLUMNS)
        + ")",
    ]


def test_a_code_repeated_in_the_file_or_already_used_is_refused(lifsi, researcher):
    receive_delivery(text="chemical,quantity,code\nLiFSI,1 g,L-TAKEN\n", actor=researcher)
    rows, errors = parse_delivery(
        "chemical,quantity,code\nLiFSI,1 g,L-NEW\nLiFSI,2 g,l-new\nLiFSI,3 g,L-TAKEN\n"
    )
    assert errors == [
        RowError(3, "code", "the code L-NEW is also on row 2"),
        RowError(4, "code", "the code L-TAKEN is already used by another lot"),
    ]


def test_an_empty_file_is_refused(researcher):
    with pytest.raises(CsvImportError, match="empty"):
        receive_delivery(text="", actor=researcher)
