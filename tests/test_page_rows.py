"""The list pages that print rows (issue 10) write the markup they wrote from model instances.

The cell list and derived-property pages read their rows as columns (``values_list``) and make each row's texts
in Python (``cells.selectors.cell_page_rows``, ``measurements.selectors_derived.derived_page_rows``); their
templates (Jinja2, ``templates/jinja2/``) print those texts. Here each page's row markup, taken from its template
as it is now and fed those rows, is compared with the row markup the page had when it printed model instances (kept below, verbatim, as the
oracle: the template calls ``get_configuration_display``, ``str()`` of the recipe version and of the person, the
``date``, ``floatformat`` and ``widthratio`` filters, ``derived_value``...), on a generated lab with hostile
texts in it, in a time zone with an offset, for every row.
"""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template import Context, Template, engines
from django.utils import timezone

from cells import selectors as cell_selectors
from cells.models import Cell
from lims.management.commands.generate_lab import Counts, generate_lab
from measurements import selectors_derived as derived_selectors
from measurements.models import DerivedProperty

pytestmark = [pytest.mark.django_db]

TEMPLATES = Path(settings.BASE_DIR) / "templates"

#: the cell list page's rows as they were written from Cell instances (templates/cells/cell_list.html before its rows were texts)
OLD_CELL_ROW = """{% for cell in page %}
    <tr>
      <td><a href="{% url 'cells:cell-detail' cell.pk %}">{{ cell.code }}</a></td>
      <td>{{ cell.get_configuration_display }}</td>
      <td class="hide-narrow">{{ cell.get_cell_format_display }}{% if cell.format_detail %} {{ cell.format_detail }}{% endif %}</td>
      <td>{% if cell.membrane %}{{ cell.membrane.code }}{% else %}{{ cell.pellet.code }} (pellet){% endif %}</td>
      <td>{% if cell.membrane %}{{ cell.membrane.batch.recipe_version }}{% else %}<span class="muted">—</span>{% endif %}</td>
      <td class="num">{% if cell.membrane.filler_fraction is not None %}{% widthratio cell.membrane.filler_fraction 1 100 %}{% else %}<span class="muted">—</span>{% endif %}</td>
      <td class="num">{{ cell.active_area|floatformat:3 }}</td>
      <td><span class="badge {{ cell.state }}">{{ cell.get_state_display }}</span></td>
      <td>{{ cell.assembled_at|date:"Y-m-d H:i" }}</td>
      <td class="hide-narrow">{{ cell.operator }}</td>
      <td class="hide-narrow">{{ cell.team }}</td>
    </tr>
  {% endfor %}"""

#: the derived-property page's rows as they were written from DerivedProperty instances
OLD_DERIVED_ROW = """{% load derived_values %}{% for row, label, subject, electrolyte in rows %}
  <tr>
    <td><a href="{% url 'measurements:derived-detail' row.pk %}">{{ label }}</a></td>
    <td class="num">{{ row|derived_value }}</td>
    <td>{{ row.unit }}</td>
    <td class="num">{{ row|derived_uncertainty }}</td>
    <td class="num">{% if row.temperature is not None %}{{ row.temperature|floatformat:"-1" }}{% endif %}</td>
    <td>{% if row.series_id %}<a href="{% url 'measurements:series-detail' row.series_id %}">{{ subject }}</a>{% else %}{{ subject }}{% endif %}</td>
    <td class="hide-narrow">{{ electrolyte }}</td>
    <td class="hide-narrow"><span title="{{ row.method }}">{{ row.method_version }}</span></td>
    <td>{{ row.computed_at|date:"Y-m-d H:i" }}</td>
  </tr>
  {% endfor %}"""

#: the cell page's results table as it was written from DerivedProperty instances (tests/oracles/cell_detail.html)
OLD_RESULTS = """{% load lims_ui %}{% for r, label in results %}
      <tr data-property="{{ r.name }}"><td><a href="{% url 'measurements:derived-detail' r.pk %}">{{ label }}</a></td>
        <td class="num">{{ r.value|sig:4 }}{% if r.uncertainty is not None %} ± {{ r.uncertainty|sig:2 }}{% endif %}</td><td>{{ r.unit }}</td>
        <td class="num">{% if r.temperature is not None %}{{ r.temperature|floatformat:"-1" }}{% else %}—{% endif %}</td>
        <td>{% if r.series_id %}<a href="{% url 'measurements:series-detail' r.series_id %}">series</a>{% elif r.measurement_id %}<a href="{% url 'measurements:measurement-detail' r.measurement_id %}">measurement #{{ r.measurement_id }}</a>{% else %}—{% endif %}</td></tr>
    {% endfor %}"""


#: the cell page's composition, measurement links and state changes as they were written from instances
OLD_COMPONENTS = """{% for c in components %}
      <tr>
        <td>{{ c.get_kind_display }}</td><td>{{ c.position|default:"—" }}</td>
        <td>{% if c.lot %}{{ c.lot.code }} · {{ c.lot.chemical.name }}{% elif c.electrode %}{{ c.electrode.code }} ({{ c.electrode.active_lot.chemical.name }}){% else %}<span class="muted">no lot</span>{% endif %}</td>
        <td class="num">{% if c.area is not None %}{{ c.area|floatformat:4 }}{% else %}—{% endif %}</td><td class="num">{% if c.mass_used is not None %}{{ c.mass_used|floatformat:5 }}{% else %}—{% endif %}</td>
      </tr>
    {% endfor %}"""
OLD_MEASUREMENTS = """{% for m in measurements %}<li><a href="{% url 'measurements:measurement-detail' m.pk %}">#{{ m.pk }} {{ m.get_technique_display }}{% if m.temperature is not None %} at {{ m.temperature|floatformat:"-1" }} °C{% endif %}</a> <span class="muted">{{ m.upload.original_name }}</span></li>{% endfor %}"""
OLD_STATE_CHANGES = """{% for s in state_changes %}
      <tr><td>{{ s.at|date:"Y-m-d H:i" }}</td><td>{{ s.get_from_state_display }}</td><td>{{ s.get_to_state_display }}</td><td>{{ s.actor|default:"—" }}</td><td>{{ s.reason|default:"—" }}</td></tr>
    {% endfor %}"""


def _jinja_loop_of(template_path: str, start: str, end: str) -> Any:
    """The row loop of a Jinja2 page (``templates/jinja2/``) as it is now, from ``start`` up to ``end``, closed
    with ``{% endfor %}``."""
    source = (TEMPLATES / "jinja2" / template_path).read_text()
    body = source[source.index(start) : source.index(end, source.index(start))]
    return engines["jinja2"].from_string(body + "{% endfor %}")


def _as_django_escapes(markup: str) -> str:
    """Jinja2 (markupsafe) writes ' and " as &#39; and &#34;, Django as &#x27; and &quot;: the same to a
    browser. Nothing else is rewritten."""
    return markup.replace("&#39;", "&#x27;").replace("&#34;", "&quot;")


def _hostile(lab_cells: list[Cell]) -> None:
    """Texts a page must escape, in the fields the rows print."""
    for i, cell in enumerate(lab_cells[:6]):
        cell.format_detail = ['<b>"x"</b>', "a & b", "it's", "", "ünï", "\u2028"][i]
        cell.save(update_fields=["format_detail"])


def _odd_properties(team: Any, researcher: Any) -> None:
    """Derived properties the generator does not make: of a series, of a pellet alone, of a subject only, without
    a temperature or an uncertainty, with a value too small or too large for plain notation, hostile texts."""
    from formulations.models import Pellet
    from measurements.models import MeasurementSeries, SeriesKind

    cell = Cell.objects.filter(team=team).order_by("id").first()
    pellet = Pellet.objects.filter(team=team).order_by("id").first()
    assert cell is not None and pellet is not None
    series = MeasurementSeries.objects.create(
        team=team, name='Arrhenius <"A">', kind=SeriesKind.values[0], cell=cell, created_by=researcher
    )
    common = {"team": team, "unit": "S/cm", "method": 'fit <"x"> & y', "method_version": "v1"}
    DerivedProperty.objects.create(
        **common,
        subject_key=f"series:{series.pk}",
        name="activation_energy",
        value=0.3311,
        uncertainty=0.0052,
        series=series,
        cell=cell,
        temperature=None,
    )
    DerivedProperty.objects.create(
        **common,
        subject_key=f"pellet:{pellet.pk}",
        name="ionic_conductivity",
        value=2.5e-7,
        uncertainty=None,
        pellet=pellet,
        temperature=-20.5,
    )
    DerivedProperty.objects.create(
        **common,
        subject_key="free:1",
        name="made_up_name",
        value=123456789012.0,
        uncertainty=4.4e9,
        temperature=25.0,
    )


@pytest.fixture
def lab(team: Any, researcher: Any) -> Any:
    generate_lab(Counts.uniform(12), seed=5, tag="pr", teams=[team], members=[researcher])
    _hostile(list(Cell.objects.filter(team=team).order_by("id")))
    _odd_properties(team, researcher)
    return team


def test_the_cell_list_rows_are_the_markup_the_page_wrote_from_cells(lab: Any) -> None:
    new = _jinja_loop_of("cells/cell_list.html", "{% for cell in page %}", "{% else %}\n    <tr><td colspan")
    old = Template(OLD_CELL_ROW)
    cells = list(
        Cell.objects.filter(team=lab)
        .select_related("team", "operator", "membrane__batch__recipe_version__recipe", "pellet")
        .order_by("id")
    )
    assert any(c.membrane_id for c in cells) and any(c.pellet_id for c in cells)
    columns = list(
        Cell.objects.filter(team=lab).order_by("id").values_list(*cell_selectors.CELL_PAGE_COLUMNS)
    )
    for zone in ("UTC", "Asia/Kolkata"):
        with timezone.override(zoneinfo.ZoneInfo(zone)):  # the texts are made in the request's time zone
            expected = old.render(Context({"page": cells}))
            got = _as_django_escapes(new.render({"page": cell_selectors.cell_page_rows(columns)}))
        assert got == expected
    assert re.search(r"&lt;b&gt;&quot;x&quot;&lt;/b&gt;", got)  # the hostile text is escaped once


def test_the_derived_property_rows_are_the_markup_the_page_wrote_from_properties(lab: Any) -> None:
    new = _jinja_loop_of("measurements/derived/list.html", "{% for row in rows %}", "{% endfor %}")
    old = Template(OLD_DERIVED_ROW)
    props = list(derived_selectors._derived_rows().filter(team=lab).order_by("id"))
    assert (
        len(props) >= 12 and any(p.membrane_id for p in props) and any(p.temperature is None for p in props)
    )
    instances = [
        (
            r,
            derived_selectors.label_of(r.name),
            derived_selectors.subject_label(r),
            derived_selectors.electrolyte_label(r),
        )
        for r in props
    ]
    columns = list(
        DerivedProperty.objects.filter(team=lab)
        .order_by("id")
        .values_list(*derived_selectors.DERIVED_PAGE_COLUMNS)
    )
    for zone in ("UTC", "America/St_Johns"):
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            expected = old.render(Context({"rows": instances}))
            got = _as_django_escapes(new.render({"rows": derived_selectors.derived_page_rows(columns)}))
        assert got == expected


def test_the_cell_page_results_are_the_markup_the_page_wrote_from_properties(lab: Any) -> None:
    """Every property of a cell the lab holds (of a series, of a measurement, without a temperature or an
    uncertainty, values for plain and scientific notation), read as the cell page reads its headline results."""
    new = _jinja_loop_of("cells/cell_detail.html", "{% for r in results %}", "{% endfor %}")
    old = Template(OLD_RESULTS)
    cell = Cell.objects.filter(team=lab).order_by("-id").first()
    assert cell is not None
    odd = ((4.9e-9, None, 60.25), (-0.0, None, None), (1e12, 3.3e10, -5.0))
    for i, (value, uncertainty, temperature) in enumerate(odd):
        DerivedProperty.objects.create(
            team=lab,
            subject_key=f"cell:{cell.pk}",
            cell=cell,
            name='odd <"name">',
            value=value,
            uncertainty=uncertainty,
            temperature=temperature,
            unit="mΩ <cm²>",
            method="m",
            method_version=f"v{i}",
        )
    props = list(derived_selectors.headline_rows().filter(team=lab, cell__isnull=False).order_by("id"))
    assert any(p.series_id for p in props) and any(p.measurement_id and not p.series_id for p in props)
    assert any(p.temperature is None for p in props) and any(p.uncertainty is None for p in props)
    expected = old.render(Context({"results": [(r, derived_selectors.label_of(r.name)) for r in props]}))
    got = _as_django_escapes(new.render({"results": derived_selectors.headline_texts(props)}))
    assert got == expected
    assert "series</a>" in got and "measurement #" in got


def test_the_cell_page_parts_links_and_state_changes_are_the_markup_the_page_wrote(
    lab: Any, researcher: Any
) -> None:
    """For every cell of the lab, with hostile texts in a part's side, a state change's reason and an uploaded
    file's name, a state change by nobody, in two time zones."""
    from cells.models import CellComponent, CellStateChange
    from measurements.models import Upload

    CellComponent.objects.filter(pk__in=CellComponent.objects.order_by("id").values("pk")[:3]).update(
        position='<i>"x"'
    )
    first = CellStateChange.objects.order_by("id").first()
    assert first is not None
    CellStateChange.objects.filter(pk=first.pk).update(reason="<script>x</script> & 'why'", actor=None)
    Upload.objects.filter(pk__in=Upload.objects.order_by("id").values("pk")[:4]).update(
        original_name='run <1> & "2".mpr'
    )
    sections = [
        ("{% for c in components %}", "{% else %}<tr><td colspan", OLD_COMPONENTS, "components"),
        ("{% for m in measurements %}", "{% endfor %}", OLD_MEASUREMENTS, "measurements"),
        ("{% for s in state_changes %}", "{% else %}<tr><td colspan", OLD_STATE_CHANGES, "state_changes"),
    ]
    seen = {"components": 0, "measurements": 0, "state_changes": 0}
    for cell in Cell.objects.filter(team=lab).order_by("id"):
        page = cell_selectors.cell_page(user=researcher, pk=cell.pk)
        assert page is not None
        instances = {
            "components": list(page.cell.components.all()),
            "measurements": page.measurements,
            "state_changes": list(page.cell.state_changes.all()),
        }
        for start, end, old_source, key in sections:
            new = _jinja_loop_of("cells/cell_detail.html", start, end)
            for zone in ("UTC", "Asia/Kolkata"):
                with timezone.override(zoneinfo.ZoneInfo(zone)):  # the texts are made in the request's zone
                    texts = {
                        "components": cell_selectors.component_texts(instances["components"]),
                        "measurements": cell_selectors.measurement_link_texts(instances["measurements"]),
                        "state_changes": cell_selectors.state_change_texts(instances["state_changes"]),
                    }
                    expected = Template(old_source).render(Context({key: instances[key]}))
                    got = _as_django_escapes(new.render({key: texts[key]}))
                assert got == expected, (cell.code, key)
            seen[key] += len(instances[key])
    assert all(seen.values()), seen


def test_urls_of_a_list_are_reverse_with_the_prefix_read_once() -> None:
    """``id_urls(name)(pk)`` is ``reverse(name, args=[pk])`` (and ``id_url``'s), under a script prefix too."""
    from django.urls import reverse, set_script_prefix

    from lims.api.rows import id_url, id_urls

    names = ["cells:cell-detail", "measurements:derived-detail", "measurements:series-detail"]
    try:
        for prefix in ("/", "/lims/"):
            set_script_prefix(prefix)
            for name in names:
                url = id_urls(name)
                for pk in (1, 42, 10**12):
                    assert url(pk) == reverse(name, args=[pk]) == id_url(name, pk)
            assert id_urls("cells:cell-detail")(7).startswith(prefix)
    finally:
        set_script_prefix("/")


def test_a_value_and_its_uncertainty_rounded_together_are_the_filters_texts() -> None:
    """``derived_texts`` answers ``(derived_value, derived_uncertainty)`` for every kind of value and uncertainty."""
    from measurements.templatetags.derived_values import derived_texts, derived_uncertainty, derived_value

    class Pair:
        def __init__(self, value: Any, uncertainty: Any) -> None:
            self.value, self.uncertainty = value, uncertainty

    values = [1.23456e-4, 0.0, -3.5, 12345.678, float("nan"), float("inf"), None, "", "abc", 7]
    uncertainties = [None, "", 0.0, 2.3e-6, 0.04, 150.0, float("nan"), float("inf"), -0.3, "x"]
    for value in values:
        for uncertainty in uncertainties:
            pair = Pair(value, uncertainty)
            assert derived_texts(pair) == (derived_value(pair), derived_uncertainty(pair)), (
                value,
                uncertainty,
            )
    assert derived_texts(0.5) == (derived_value(0.5), derived_uncertainty(0.5))


def test_fixed_with_the_language_read_once_is_fixed() -> None:
    import decimal

    from django.utils import translation

    from lims.presentation import fixed

    for language in ("en", "de"):
        with translation.override(language):
            current = translation.get_language()
            for value in (1.23456, 0, decimal.Decimal("2.50"), -0.5, 1e-7):
                for digits in (-1, 0, 3, 5):
                    assert fixed(value, digits, current) == fixed(value, digits)
