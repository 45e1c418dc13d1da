"""Choice lists a page offers (PageFilterSet.offer_choices) are read when the select is drawn, never when the API
validates its query string: before, Django normalised them on assignment and every API list request with such a
filter read the recipe versions and teams twice."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import cells.filters
import formulations.filters_inventory
import formulations.filters_synthesis
import measurements.filters_derived
import measurements.filters_ingest
from lims.filtering import PageFilterSet

pytestmark = pytest.mark.django_db

MODULES = (
    cells.filters,
    formulations.filters_inventory,
    formulations.filters_synthesis,
    measurements.filters_derived,
    measurements.filters_ingest,
)


def _filtersets() -> list[type[PageFilterSet]]:
    found: list[type[PageFilterSet]] = []
    todo = list(PageFilterSet.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls._meta.model is not None:
            found.append(cls)
    return sorted(found, key=lambda c: c.__qualname__)


def test_every_filterset_module_is_imported() -> None:
    assert {c.__module__ for c in _filtersets()} <= {m.__name__ for m in MODULES}
    assert len(_filtersets()) >= 10


@pytest.mark.parametrize("filterset_class", _filtersets(), ids=lambda c: c.__qualname__)
def test_offered_choices_are_read_only_when_drawn(filterset_class: Any, rf: Any, researcher: Any) -> None:
    request = rf.get("/api/v1/x/", {"ordering": "id"})
    request.user = researcher
    filterset = filterset_class(
        request.GET, queryset=filterset_class._meta.model.objects.all(), request=request
    )

    with CaptureQueriesContext(connection) as validating:
        assert filterset.is_valid(), filterset.errors
    assert validating.captured_queries == [], [q["sql"] for q in validating.captured_queries]

    offered = list(filterset._offered)
    with CaptureQueriesContext(connection) as drawing:
        for name in offered:
            html = str(filterset.form[name])
            assert html.startswith("<select") and '<option value="" selected>---------</option>' in html
    # one query per offered list, read once (not twice, as the normalisation did)
    assert len(drawing.captured_queries) <= len(offered)


@pytest.mark.parametrize("filterset_class", _filtersets(), ids=lambda c: c.__qualname__)
def test_no_distinct_for_a_choice_among_the_rows_own_values(filterset_class: Any) -> None:
    """django-filter's MultipleChoiceFilter adds SELECT DISTINCT by default (for filters through a to-many join).
    On a column of the row itself it cannot repeat a row, and DISTINCT over every selected column tripled the
    time of ``/api/v1/lots/?status=available`` on the large lab (1.3 + 4.2 ms of SQL)."""
    model = filterset_class._meta.model
    for name, flt in filterset_class.base_filters.items():
        if getattr(flt, "distinct", False) and "__" not in flt.field_name and flt.method is None:
            field = model._meta.get_field(flt.field_name)
            assert field.many_to_many or field.one_to_many, (
                f"{filterset_class.__name__}.{name}: distinct=False"
            )


def test_the_lot_list_filtered_by_status_selects_no_distinct(api: Any, researcher: Any) -> None:
    client = api(researcher)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/lots/", {"status": ["available", "quarantine"]}).status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"]]


@pytest.mark.parametrize("filterset_class", _filtersets(), ids=lambda c: c.__qualname__)
def test_a_filterset_without_parameters_returns_the_queryset_unchanged(
    filterset_class: Any, rf: Any, researcher: Any
) -> None:
    """What lets lims.api.filters.DjangoFilterBackend skip the FilterSet of a list asked for without filters."""
    request = rf.get("/api/v1/x/")
    request.user = researcher
    queryset = filterset_class._meta.model.objects.order_by("pk")
    filterset = filterset_class(request.GET, queryset=queryset, request=request)
    assert filterset.is_valid(), filterset.errors
    assert str(filterset.qs.query) == str(queryset.query)


def test_only_paging_sorting_and_search_parameters_skip_the_filterset(rf: Any) -> None:
    from rest_framework.request import Request

    from cells.api.views import CellViewSet
    from lims.api.filters import _no_filter_asked

    view = CellViewSet()
    for query, skipped in (
        ("", True),
        ("?page=2&page_size=10&ordering=-code&search=x&format=json", True),
        ("?state=on_test", False),
        ("?page=2&unknown=1", False),
    ):
        assert _no_filter_asked(Request(rf.get("/api/v1/cells/" + query)), view) is skipped, query


def test_an_asked_for_sort_ends_with_the_key_so_that_pages_are_stable(rf: Any) -> None:
    from rest_framework.request import Request

    from lims.api.filters import OrderingFilter
    from measurements.api.ingest_views import MeasurementViewSet
    from measurements.models import Measurement

    view = MeasurementViewSet()
    qs = Measurement.objects.all()
    for query, expected in (
        ("?ordering=-temperature", ["-temperature", "-pk"]),
        ("?ordering=started_at,-row_count", ["started_at", "-row_count", "pk"]),
        ("?ordering=-id", None),  # not a sort field of this list: ignored, as DRF ignores it
    ):
        request = Request(rf.get("/api/v1/measurements/" + query))
        assert OrderingFilter().get_ordering(request, qs, view) == expected, query
    request = Request(rf.get("/api/v1/measurements/?ordering=-temperature"))
    sql = str(OrderingFilter().filter_queryset(request, qs, view).query)
    assert sql.endswith(
        'ORDER BY "measurements_measurement"."temperature" DESC, "measurements_measurement"."id" DESC'
    )


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [10_000, 1])
def test_pointing_at_filters_by_the_looked_up_ids_or_beyond_the_limit_by_a_subquery(
    team, researcher, limit, monkeypatch
):  # type: ignore[no-untyped-def]
    """The same rows either way; the ids are bound as one array, and a subquery is kept beyond the limit."""
    from cells.models import Cell
    from cells.tests import factories as f
    from formulations.models import Membrane
    from lims import queries

    monkeypatch.setattr(queries, "MAX_LOOKED_UP_IDS", limit)
    li = f.li_foil_lot(user=researcher, quantity="5 g")
    made = f.two_membranes_and_a_pellet(team=team, user=researcher)
    c1 = f.symmetric_cell(team=team, user=researcher, membrane_=made["m1"], li=li)
    c2 = f.symmetric_cell(team=team, user=researcher, membrane_=made["m2"], li=li)
    f.blocking_cell(team=team, user=researcher, pellet_=made["pellet"])
    membranes = Membrane.objects.filter(pk__in=[made["m1"].pk, made["m2"].pk])
    with CaptureQueriesContext(connection) as ctx:
        found = set(
            Cell.objects.filter(queries.pointing_at("membrane", membranes)).values_list("pk", flat=True)
        )
    assert found == {c1.pk, c2.pk}
    last = ctx.captured_queries[-1]["sql"]
    # the cells' query reads the membranes itself (a subquery) only beyond the limit; below it, the ids found
    # first are one bound parameter (on SQLite read back through json_each, which is no subquery of membranes)
    if limit == 1:  # two records: more than the limit
        assert 'FROM "formulations_membrane"' in last
    else:
        assert 'FROM "formulations_membrane"' not in last and len(ctx.captured_queries) == 2
    nothing = Membrane.objects.filter(code="no such membrane")
    assert not Cell.objects.filter(queries.pointing_at("membrane", nothing)).exists()


@pytest.fixture
def recipes_of_two_teams(team: Any, other_team: Any) -> None:
    from formulations.models import Recipe, RecipeVersion

    for owner, names in ((team, ["PMA <b>gel</b>", 'LLZTO & "20"']), (other_team, ["Other's 'secret'"])):
        for name in names:
            recipe = Recipe.objects.create(team=owner, name=name)
            for number in (1, 2):
                RecipeVersion.objects.create(recipe=recipe, number=number)


def _markup(fields: Any) -> str:
    return "\n".join(f"{f.id_for_label}|{f.label}|{f}" for f in fields)


@pytest.mark.usefixtures("recipes_of_two_teams")
def test_a_drawn_filter_is_the_filter_sets_own_unbound_form(
    rf: Any, researcher: Any, outsider: Any, staff_user: Any, team: Any
) -> None:
    """``drawn_filter`` draws what the filter set's form draws, unbound, for every user (their own teams' recipes,
    versions and teams; staff every one; a user of no team none): with the choice rows read beforehand (as the
    page reads them) or when drawn; one drawing serves every user."""
    from cells.filters import CellFilter
    from cells.models import Cell
    from lims.compiled import run_together
    from lims.filtering import _DRAWINGS, drawn_filter
    from lims.models import Membership, Role, User

    both = User.objects.create_user("bea", password="pw-bea-123456")
    Membership.objects.create(user=both, team=team, role=Role.VIEWER)
    Membership.objects.create(user=both, team=outsider.memberships.get().team, role=Role.RESEARCHER)
    nobody = User.objects.create_user("nia", password="pw-nia-123456")
    _DRAWINGS.clear()
    for user in (researcher, outsider, staff_user, both, nobody):
        request = rf.get("/cells/")
        request.user = user
        expected = _markup(CellFilter(None, queryset=Cell.objects.all(), request=request).form)
        drawn = drawn_filter(CellFilter, user)
        statements, keep = drawn.choice_statements()
        keep(run_together(statements))
        assert _markup(drawn.form) == expected, user.username
        assert _markup(drawn_filter(CellFilter, user).form) == expected  # rows read when drawn
        assert not drawn.is_bound and not drawn.is_filtered and not drawn.errors
    assert len(_DRAWINGS) == 1
    request = rf.get("/cells/")
    request.user = researcher
    mine = _markup(drawn_filter(CellFilter, researcher).form)
    assert "PMA &lt;b&gt;gel&lt;/b&gt;" in mine and "secret" not in mine


@pytest.mark.usefixtures("recipes_of_two_teams")
def test_the_cell_list_draws_the_same_filter_form_unbound_and_bound(client: Any, researcher: Any) -> None:
    """The page as first opened (no parameter: drawn ahead) and its next page (bound, nothing filtered: the filter
    set's form) show the same filter form."""
    import re

    client.force_login(researcher)
    forms = []
    for path in ("/cells/", "/cells/?page=1"):
        html = client.get(path).content.decode()
        found = re.search(r'<form class="filters card".*?</form>', html, re.S)
        assert found is not None
        forms.append(found.group(0))
    assert forms[0] == forms[1]
    assert "PMA &lt;b&gt;gel&lt;/b&gt; v2" in forms[0]


@pytest.mark.usefixtures("recipes_of_two_teams")
def test_a_user_of_no_team_opens_the_cell_list(client: Any) -> None:
    """A signed-in user who belongs to no team sees the cell list with empty choice lists (the choice lists'
    reads, ``team__in=[]``, match nothing and cannot be compiled: before, the page answered 500), filtered or
    not."""
    from lims.models import User

    client.force_login(User.objects.create_user("nia", password="pw-nia-123456"))
    for path in ("/cells/", "/cells/?page=1", "/cells/?state=on_test"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "No cells yet." in response.content.decode() or "No cell matches" in response.content.decode()
