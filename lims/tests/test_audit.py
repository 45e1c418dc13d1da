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
