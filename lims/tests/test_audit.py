"""The audit trail records who changed what, through every channel, and its rows cannot be changed."""

import pytest
from django.apps import apps

from lims.audit import HistoryImmutableError, acting_as
from lims.models import ApiToken, Team

pytestmark = pytest.mark.django_db


def test_every_concrete_model_of_the_project_apps_has_a_history():
    missing = [
        m._meta.label
        for app in ("lims", "formulations", "cells", "measurements")
        for m in apps.get_app_config(app).get_models()
        if not m._meta.label.split(".")[1].startswith("Historical")
        and not hasattr(m, "history")
        and "Historical" not in m.__name__
    ]
    assert missing == []


def test_a_service_change_is_recorded_with_the_acting_user_and_reason(researcher):
    with acting_as(researcher, reason="renamed for the 2026 reorganisation"):
        team = Team.objects.create(name="A", slug="a")
        team.name = "B"
        team.save()
    rows = list(team.history.order_by("history_id"))
    assert [r.history_type for r in rows] == ["+", "~"]
    assert rows[-1].history_user == researcher
    assert rows[-1].history_change_reason == "renamed for the 2026 reorganisation"
    assert rows[-1].history_via == "service"
    delta = rows[-1].diff_against(rows[0])
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("name", "A", "B")]


def test_a_save_that_changes_no_tracked_field_writes_no_history_row(researcher):
    with acting_as(researcher):
        team = Team.objects.create(name="A", slug="a")
        team.save()  # unchanged: only updated_at would move
        team.name = "B"
        team.save()
        team.save()
    assert [(r.history_type, r.name) for r in team.history.order_by("history_id")] == [("+", "A"), ("~", "B")]


def test_an_unchanged_save_with_a_reason_is_still_recorded(researcher):
    with acting_as(researcher):
        team = Team.objects.create(name="A", slug="a")
    with acting_as(researcher, reason="checked against the purchase order"):
        team.save()
    rows = list(team.history.order_by("history_id"))
    assert [r.history_type for r in rows] == ["+", "~"]
    assert rows[-1].history_change_reason == "checked against the purchase order"


def test_a_change_made_outside_the_trail_is_recorded_on_the_next_save(researcher):
    """The comparison is with the last history row, not with what was loaded: a bulk update (not recorded)
    followed by a save of the same value still gives the trail the new value."""
    with acting_as(researcher):
        team = Team.objects.create(name="A", slug="a")
        Team.objects.filter(pk=team.pk).update(
            name="C"
        )  # Team's manager allows it; the trail does not see it
        team.refresh_from_db()
        team.save()
    assert [r.name for r in team.history.order_by("history_id")] == ["A", "C"]


def test_an_api_change_is_recorded_with_the_token_user(researcher, token_client):
    client = token_client(researcher)
    response = client.post("/api/v1/tokens/", {"name": "cycler script"}, format="json")
    assert response.status_code == 201, response.content
    token = ApiToken.objects.get(name="cycler script")
    record = token.history.get()
    assert record.history_user == researcher
    assert record.history_via.startswith("api-token:")


def test_an_admin_change_is_recorded_with_the_staff_user(client, staff_user, team):
    client.force_login(staff_user)
    response = client.post(
        f"/admin/lims/team/{team.pk}/change/",
        {
            "name": "Renamed group",
            "slug": team.slug,
            "description": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    latest = team.history.latest()
    assert latest.name == "Renamed group"
    assert latest.history_user == staff_user
    assert latest.history_via == "admin"
    history_page = client.get(f"/admin/lims/team/{team.pk}/history/")
    assert history_page.status_code == 200
    assert b"Renamed group" in history_page.content


def test_history_rows_cannot_be_edited_or_deleted_from_the_app(team):
    row = team.history.get()
    row.name = "forged"
    with pytest.raises(HistoryImmutableError):
        row.save()
    with pytest.raises(HistoryImmutableError):
        row.delete()


def test_history_rows_cannot_be_changed_or_deleted_in_bulk_either(team):
    from lims.models import Team as TeamModel

    historical = TeamModel.history.model
    with pytest.raises(HistoryImmutableError):
        team.history.all().update(name="forged")
    with pytest.raises(HistoryImmutableError):
        team.history.filter(pk__gt=0).delete()
    with pytest.raises(HistoryImmutableError):
        historical.objects.all().delete()
    with pytest.raises(HistoryImmutableError):
        historical.objects.filter(id=team.pk).update(history_change_reason="forged")
    assert team.history.get().name == team.name  # unchanged


def test_every_concrete_model_is_in_the_admin_with_its_history():
    """So that the admin shows every record's trail (the permission matrix opens each history page as staff)."""
    from django.contrib import admin
    from simple_history.admin import SimpleHistoryAdmin

    missing = [
        m._meta.label
        for app in ("lims", "formulations", "cells", "measurements")
        for m in apps.get_app_config(app).get_models()
        if not m.__name__.startswith("Historical")
        and not isinstance(admin.site._registry.get(m), SimpleHistoryAdmin)
    ]
    assert missing == []


def test_a_page_form_records_the_create_and_the_edit_with_the_logged_in_user(client, researcher):
    from formulations.models import Supplier

    client.force_login(researcher)
    created = client.post(
        "/inventory/suppliers/new/", {"name": "Macklin", "website": "", "contact": "", "notes": ""}
    )
    assert created.status_code == 302, created.content[:500]
    supplier = Supplier.objects.get(name="Macklin")
    edited = client.post(
        f"/inventory/suppliers/{supplier.pk}/edit/",
        {"name": "Macklin Biochemical", "website": "", "contact": "sales", "notes": ""},
    )
    assert edited.status_code == 302, edited.content[:500]
    rows = list(supplier.history.order_by("history_id"))
    assert [(r.history_type, r.name, r.history_user, r.history_via) for r in rows] == [
        ("+", "Macklin", researcher, "web"),
        ("~", "Macklin Biochemical", researcher, "web"),
    ]


def test_deletes_through_the_api_and_the_admin_are_recorded_with_who_deleted(
    token_client, researcher, client, staff_user
):
    from formulations.models import Supplier
    from formulations.services.inventory import save_supplier

    by_api = save_supplier(actor=researcher, name="Typo Ltd")
    api = token_client(researcher)
    assert api.delete(f"/api/v1/suppliers/{by_api.pk}/").status_code == 204
    gone = Supplier.history.filter(id=by_api.pk).latest()
    assert gone.history_type == "-" and gone.history_user == researcher
    assert gone.history_via == f"api-token:{api.lims_token.key_prefix}"

    by_admin = save_supplier(actor=researcher, name="Duplicate GmbH")
    client.force_login(staff_user)
    response = client.post(f"/admin/formulations/supplier/{by_admin.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content[:500]
    gone = Supplier.history.filter(id=by_admin.pk).latest()
    assert (gone.history_type, gone.history_user, gone.history_via) == ("-", staff_user, "admin")
    assert not Supplier.objects.filter(pk__in=[by_api.pk, by_admin.pk]).exists()
    history_page = client.get(f"/admin/formulations/supplier/{by_admin.pk}/history/")
    assert history_page.status_code == 200 and b"Duplicate GmbH" in history_page.content


def test_a_task_records_its_writes_as_the_user_or_instrument_that_started_it(
    team, researcher, manager, token_client, django_capture_on_commit_callbacks
):
    """The parse task of an instrument's upload writes as the instrument; a series computed on a researcher's
    request writes as that researcher; both through the worker ("worker")."""
    from rest_framework.test import APIClient

    from measurements.models import DerivedProperty, Measurement, MeasurementSeries, SeriesMember
    from measurements.services.ingest import issue_instrument_token
    from tests.world import build_world, impedance_mpt

    w = build_world(team=team, researcher=researcher, manager=manager)
    instrument_user = w.instrument.service_user
    measurement = Measurement.objects.get(pk=w.measurement.pk)
    assert (measurement.history.earliest().history_user, measurement.history.earliest().history_via) == (
        instrument_user,
        "worker",
    )

    # an upload over HTTP with an instrument token, parsed by the (in-process) task
    from django.core.files.uploadedfile import SimpleUploadedFile

    _, key = issue_instrument_token(actor=manager, instrument=w.instrument, name="second PC")
    instrument = APIClient()
    instrument.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with django_capture_on_commit_callbacks(execute=True):
        posted = instrument.post(
            "/api/v1/uploads/",
            {
                "file": SimpleUploadedFile("peis_40C.mpt", impedance_mpt(40.0, 60.0, seed=5)),
                "cell": w.cell.code,
            },
            format="multipart",
        )
    assert posted.status_code == 202, posted.content
    second = Measurement.objects.get(upload_id=posted.json()["id"])
    assert {(h.history_user, h.history_via) for h in second.history.all()} == {(instrument_user, "worker")}

    # a series computed on a researcher's request
    series = MeasurementSeries.objects.get(pk=w.series.pk)
    SeriesMember.objects.create(series=series, measurement=second, order=1)
    with django_capture_on_commit_callbacks(execute=True):
        queued = token_client(researcher).post(f"/api/v1/series/{series.pk}/compute/")
    assert queued.status_code == 202, queued.content
    computed = DerivedProperty.objects.filter(series=series)
    assert computed.exists()
    for row in computed:
        latest = row.history.latest()
        assert (latest.history_user, latest.history_via) == (researcher, "worker"), row.name
