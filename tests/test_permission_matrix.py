"""The permission matrix: every API endpoint and every page, for every kind of requester, against real records.

The URL conf is walked (like tests/test_query_counts.py): every named route must have an entry in ``MATRIX`` with
every HTTP method it answers (API) or the methods worth trying (pages, GET at least), else
``test_every_route_has_a_matrix_entry`` fails. The admin is generated: every registered model's list, and the change
and history pages of the world's records, are for staff only.

Requesters: anonymous, a viewer, a researcher and a manager of the world's team, staff, a researcher of another team
(outsider), a viewer of the team who is a researcher elsewhere (mixed: catches checks that only ask "researcher
somewhere"), the team's instrument token, and a revoked personal token. The API is called with real hashed tokens,
pages with a logged-in session (tokens do nothing on pages).

An outcome is "unexpected access" when a requester outside an entry's ``allowed`` set got a success, or an unsafe
request of theirs wrote anything (any new audit-trail row), or any response to someone who may not see the team's
records contains the world's MARKER. Allowed requesters must succeed (the bodies are valid), so the matrix also
proves that it asks the right questions. Every request runs in a savepoint that is rolled back, so each one sees
the same world.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from tests.world import MARKER, World, impedance_mpt

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ANON, VIEWER, RESEARCHER, MANAGER, STAFF = "anonymous", "viewer", "researcher", "manager", "staff"
OUTSIDER, MIXED, INSTRUMENT, REVOKED = "outsider", "mixed", "instrument", "revoked"
ACTORS = (ANON, VIEWER, RESEARCHER, MANAGER, STAFF, OUTSIDER, MIXED, INSTRUMENT, REVOKED)

EVERYONE = frozenset(ACTORS)
NOBODY: frozenset[str] = frozenset()
PERSONS = frozenset({VIEWER, RESEARCHER, MANAGER, STAFF, OUTSIDER, MIXED})
TEAM_VIEW = frozenset({VIEWER, RESEARCHER, MANAGER, STAFF, MIXED})
TEAM_WRITE = frozenset({RESEARCHER, MANAGER, STAFF})
TEAM_MANAGE = frozenset({MANAGER, STAFF})
SHARED_WRITE = frozenset({RESEARCHER, MANAGER, STAFF, OUTSIDER, MIXED})  # the researcher role in some team
#: shared inventory that nothing refers to (a typo'd supplier, an empty shelf) may be deleted by the researchers who
#: write the inventory (formulations/tests/test_inventory_api.py); anything referred to is refused with 409
SHARED_DELETE = SHARED_WRITE
SHARED_MANAGE = frozenset({MANAGER, STAFF})  # a manager of some team: releasing a quarantined lot
ONLY_STAFF = frozenset({STAFF})
#: who may see the world team's records: everyone else must never find MARKER in a response
SEES_TEAM = TEAM_VIEW

Body = Callable[[World], Any]


@dataclass(frozen=True)
class Op:
    """One method of one route: who may, with which URL arguments, query string and body."""

    allowed: frozenset[str]
    kwargs: Callable[[World], dict[str, Any]] | None = None
    query: Callable[[World], str] | str = ""
    body: Body | None = None
    format: str = "json"  # json | multipart | form
    ok: tuple[int, ...] = (200, 201, 202, 204)
    refusals: tuple[int, ...] = (401, 403, 404, 405)
    #: the instrument may see the team's records in this response (its own upload's status)
    instrument_sees: bool = False
    skip: str = ""


def kw(**names: str) -> Callable[[World], dict[str, Any]]:
    """URL kwargs from world attributes: kw(pk="cell") -> {"pk": world.cell.pk}."""

    def make(w: World) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, attr in names.items():
            value: Any = w
            for part in attr.split("."):
                value = getattr(value, part)
            out[key] = getattr(value, "pk", value)
        return out

    return make


def pk(attr: str) -> Callable[[World], dict[str, Any]]:
    return kw(pk=attr)


def upload_body(name: str = "new.mpt", **extra: Any) -> Body:
    def make(w: World) -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return {"file": SimpleUploadedFile(name, impedance_mpt(seed=7)), "cell": str(w.cell.pk), **extra}

    return make


def csv_delivery(w: World) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = f"chemical,quantity,supplier\n{w.chemical.name},5 g,Canrd\n"
    return {"file": SimpleUploadedFile("delivery.csv", text.encode())}


def cell_body(w: World) -> Any:
    return {
        "team": w.team.pk,
        "configuration": "blocking",
        "pellet": w.free_pellet.pk,
        "stainless_area": "1.131 cm^2",
    }


def bulk_body(w: World) -> Any:
    return {
        "team": w.team.pk,
        "configuration": "symmetric",
        "membrane": w.membrane.pk,
        "li_foil_lot": w.li_lot.pk,
        "li_foil_amount": "10 mg",
        "li_foil_area": "1.9 cm^2",
        "count": 2,
    }


def pellet_body(w: World) -> Any:
    return {
        "team": w.team.pk,
        "lot": w.llzto_lot.pk,
        "powder_mass": "0.5 g",
        "press_pressure": "300 MPa",
        "sinter_temperature": "1180 degC",
        "sinter_dwell": "6 h",
        "final_diameter": "12 mm",
        "final_thickness": "0.5 mm",
        "final_mass": "0.3 g",
    }


def electrode_body(w: World) -> Any:
    return {
        "team": w.team.pk,
        "active_lot": w.llzto_lot.pk,
        "active_fraction": 0.8,
        "conductive_fraction": 0.1,
        "binder_fraction": 0.1,
        "loading": "2 mg/cm^2",
        "diameter": "12 mm",
    }


def batch_body(w: World) -> Any:
    component = w.version.components.get()
    return {
        "recipe_version": w.version.pk,
        "draws": [{"component": component.pk, "lot": w.lot.pk, "amount": "1 g"}],
    }


R = Op  # short alias in the table below

# name -> method -> Op. Methods of API routes must all be listed; pages list what is worth trying.
MATRIX: dict[str, dict[str, Op]] = {
    # ------------------------------------------------------------------ core pages and the API's own routes
    "home": {"GET": R(PERSONS)},
    "health": {"GET": R(EVERYONE)},
    "favicon": {"GET": R(EVERYONE, ok=(302,))},
    "search": {"GET": R(PERSONS, query="q=CELL&go=0")},  # matches the team's cell codes
    "login": {"GET": R(EVERYONE)},
    "logout": {"GET": R(NOBODY, refusals=(405,))},  # POST only (Django 5); trying it would end the session
    "me": {"GET": R(PERSONS)},
    "unit-parse": {"GET": R(PERSONS, query="text=5%20mL&dimension=volume")},
    "team-list": {"GET": R(PERSONS)},
    "team-detail": {"GET": R(TEAM_VIEW, kwargs=pk("team"))},
    "token-list": {"GET": R(PERSONS), "POST": R(PERSONS, body=lambda w: {"name": "script"})},  # viewers too
    "token-detail": {"GET": R(frozenset({RESEARCHER}), kwargs=pk("researcher_token"))},
    "token-revoke": {"POST": R(frozenset({RESEARCHER}), kwargs=pk("researcher_token"))},
    "schema": {"GET": R(EVERYONE - {REVOKED})},
    "api-docs": {"GET": R(EVERYONE - {REVOKED})},
    "api-redoc": {"GET": R(EVERYONE - {REVOKED})},
    # ------------------------------------------------------------------ inventory API (shared)
    "chemical-list": {"GET": R(PERSONS), "POST": R(SHARED_WRITE, body=lambda w: {"name": "Succinonitrile"})},
    "chemical-detail": {
        "GET": R(PERSONS, kwargs=pk("chemical")),
        "PUT": R(
            SHARED_WRITE, kwargs=pk("chemical"), body=lambda w: {"name": w.chemical.name, "role": "salt"}
        ),
        "PATCH": R(SHARED_WRITE, kwargs=pk("chemical"), body=lambda w: {"abbreviation": "LiFSI"}),
        "DELETE": R(SHARED_DELETE, kwargs=pk("spare_chemical")),
    },
    "supplier-list": {"GET": R(PERSONS), "POST": R(SHARED_WRITE, body=lambda w: {"name": "Macklin"})},
    "supplier-detail": {
        "GET": R(PERSONS, kwargs=pk("supplier")),
        "PUT": R(SHARED_WRITE, kwargs=pk("supplier"), body=lambda w: {"name": "Canrd"}),
        "PATCH": R(SHARED_WRITE, kwargs=pk("supplier"), body=lambda w: {"contact": "sales@canrd"}),
        "DELETE": R(SHARED_DELETE, kwargs=pk("spare_supplier")),
    },
    "location-list": {
        "GET": R(PERSONS),
        "POST": R(SHARED_WRITE, body=lambda w: {"name": "Shelf 9", "kind": "shelf", "parent": w.location.pk}),
    },
    "location-detail": {
        "GET": R(PERSONS, kwargs=pk("location")),
        "PUT": R(
            SHARED_WRITE,
            kwargs=pk("location"),
            body=lambda w: {"name": "Glovebox 1", "kind": "glovebox", "parent": w.location.parent_id},
        ),
        "PATCH": R(SHARED_WRITE, kwargs=pk("location"), body=lambda w: {"notes": "argon"}),
        "DELETE": R(SHARED_DELETE, kwargs=pk("spare_location")),
    },
    "location-lots": {"GET": R(PERSONS, kwargs=pk("location"))},
    "lot-list": {
        "GET": R(PERSONS),
        "POST": R(SHARED_WRITE, body=lambda w: {"chemical": w.chemical.pk, "quantity": "5 g"}),
    },
    "lot-bulk-receive": {"POST": R(SHARED_WRITE, body=csv_delivery, format="multipart")},
    "lot-by-code": {"GET": R(PERSONS, kwargs=kw(code="lot.code"))},
    "lot-detail": {
        "GET": R(PERSONS, kwargs=pk("lot")),
        "PUT": R(
            SHARED_WRITE, kwargs=pk("lot"), body=lambda w: {"notes": "dry", "received_on": "2026-01-05"}
        ),
        "PATCH": R(SHARED_WRITE, kwargs=pk("lot"), body=lambda w: {"notes": "opened in the glovebox"}),
    },
    "lot-adjust": {
        "POST": R(SHARED_WRITE, kwargs=pk("lot"), body=lambda w: {"counted": "98 g", "reason": "count"})
    },
    "lot-consume": {"POST": R(SHARED_WRITE, kwargs=pk("lot"), body=lambda w: {"amount": "1 g"})},
    "lot-convert": {"GET": R(PERSONS, kwargs=pk("lot"), query="amount=1%20g")},
    "lot-dispose": {"POST": R(SHARED_WRITE, kwargs=pk("lot"), body=lambda w: {"reason": "contaminated"})},
    "lot-quarantine": {"POST": R(SHARED_WRITE, kwargs=pk("lot"), body=lambda w: {"reason": "odd colour"})},
    "lot-release": {
        "POST": R(
            SHARED_MANAGE,
            kwargs=pk("quarantined_lot"),
            body=lambda w: {"reason": "KF 9 ppm"},
            refusals=(401, 403, 404, 409),
        )
    },
    "lot-return": {"POST": R(SHARED_WRITE, kwargs=pk("lot"), body=lambda w: {"amount": "0.5 g"})},
    "lot-transactions": {"GET": R(PERSONS, kwargs=pk("lot"))},
    "stock-transaction-list": {"GET": R(PERSONS)},
    "stock-transaction-detail": {"GET": R(PERSONS, kwargs=pk("transaction"))},
    # ------------------------------------------------------------------ synthesis API (team records)
    "recipe-list": {
        "GET": R(PERSONS),
        "POST": R(TEAM_WRITE, body=lambda w: {"team": w.team.pk, "name": "new PMA"}),
    },
    "recipe-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("recipe")),
        "PATCH": R(TEAM_WRITE, kwargs=pk("recipe"), body=lambda w: {"description": "UV-cured"}),
        "DELETE": R(NOBODY, kwargs=pk("recipe")),  # recipes are kept: 405 for everyone
    },
    "recipe-version-list": {"GET": R(PERSONS), "POST": R(TEAM_WRITE, body=lambda w: {"base": w.version.pk})},
    "recipe-version-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("draft")),
        "PATCH": R(TEAM_WRITE, kwargs=pk("draft"), body=lambda w: {"notes": "second try"}),
        "DELETE": R(NOBODY, kwargs=pk("draft")),
    },
    "recipe-version-filler-series": {
        "POST": R(TEAM_WRITE, kwargs=pk("draft"), body=lambda w: {"filler": w.llzto.pk, "fractions": [0.2]})
    },
    "recipe-version-revise": {
        "POST": R(
            TEAM_WRITE,
            kwargs=pk("draft"),
            body=lambda w: {"components": [{"chemical": w.chemical.pk, "amount": "2 g"}]},
        )
    },
    "recipe-version-scaled": {"GET": R(TEAM_VIEW, kwargs=pk("version"), query="scale_factor=2")},
    "recipe-component-list": {
        "GET": R(PERSONS),
        "POST": R(
            TEAM_WRITE, body=lambda w: {"version": w.draft.pk, "chemical": w.llzto.pk, "amount": "1 g"}
        ),
    },
    "recipe-component-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("component")),
        "PATCH": R(TEAM_WRITE, kwargs=pk("component"), body=lambda w: {"amount": "3 g"}),
        "DELETE": R(TEAM_WRITE, kwargs=pk("component")),
    },
    "process-step-list": {
        "GET": R(PERSONS),
        "POST": R(TEAM_WRITE, body=lambda w: {"version": w.draft.pk, "kind": "mix", "description": "stir"}),
    },
    "process-step-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("step")),
        "PATCH": R(TEAM_WRITE, kwargs=pk("step"), body=lambda w: {"kind": "mix", "description": "stir 2 h"}),
        "DELETE": R(TEAM_WRITE, kwargs=pk("step")),
    },
    "batch-list": {"GET": R(PERSONS), "POST": R(TEAM_WRITE, body=batch_body)},
    "batch-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("batch")),
        "PATCH": R(TEAM_WRITE, kwargs=pk("batch"), body=lambda w: {"notes": "yellowish"}),
        "DELETE": R(NOBODY, kwargs=pk("batch"), refusals=(401, 403, 404, 409)),  # never deleted: cancelled
    },
    "batch-cancel": {"POST": R(TEAM_WRITE, kwargs=pk("batch"), body=lambda w: {"reason": "spilled"})},
    "mould-list": {
        "GET": R(PERSONS),
        "POST": R(SHARED_WRITE, body=lambda w: {"name": "PTFE 2x2", "area": "4 cm^2"}),
    },
    "mould-detail": {
        "GET": R(PERSONS, kwargs=pk("mould")),
        "PATCH": R(SHARED_WRITE, kwargs=pk("mould"), body=lambda w: {"notes": "scratched"}),
        "DELETE": R(NOBODY, kwargs=pk("mould")),
    },
    "membrane-list": {
        "GET": R(PERSONS),
        "POST": R(
            TEAM_WRITE,
            body=lambda w: {
                "batch": w.batch.pk,
                "mould": w.mould.pk,
                "cast_mass": "0.5 g",
                "slurry_density": "1.1 g/mL",
            },
        ),
    },
    "membrane-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("membrane")),
        "PATCH": R(TEAM_WRITE, kwargs=pk("membrane"), body=lambda w: {"notes": "flexible"}),
        "DELETE": R(NOBODY, kwargs=pk("membrane")),
    },
    "pellet-list": {"GET": R(PERSONS), "POST": R(TEAM_WRITE, body=pellet_body)},
    "pellet-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("pellet")),
        "PATCH": R(TEAM_WRITE, kwargs=pk("pellet"), body=lambda w: {"notes": "cracked edge"}),
        "DELETE": R(NOBODY, kwargs=pk("pellet")),
    },
    "electrode-list": {"GET": R(PERSONS), "POST": R(TEAM_WRITE, body=electrode_body)},
    "electrode-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("electrode")),
        "PATCH": R(TEAM_WRITE, kwargs=pk("electrode"), body=lambda w: {"notes": "calendered"}),
        "DELETE": R(NOBODY, kwargs=pk("electrode")),
    },
    # ------------------------------------------------------------------ cells API
    "provenance-where-used": {"GET": R(PERSONS, query=lambda w: f"lot={w.llzto_lot.pk}")},
    "provenance-lineage": {"GET": R(PERSONS, query=lambda w: f"cell={w.cell.pk}")},
    "cell-list": {"GET": R(PERSONS), "POST": R(TEAM_WRITE, body=cell_body)},
    "cell-bulk-assemble": {"POST": R(TEAM_WRITE, body=bulk_body)},
    "cell-by-code": {"GET": R(TEAM_VIEW, kwargs=kw(code="cell.code"))},
    "cell-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("cell")),
        "PATCH": R(
            TEAM_WRITE, kwargs=pk("cell"), body=lambda w: {"version": w.cell.version, "notes": "leaky"}
        ),
        "DELETE": R(TEAM_MANAGE, kwargs=pk("spare_cell"), body=lambda w: {"reason": "entered twice"}),
    },
    "cell-postmortem": {"POST": R(TEAM_WRITE, kwargs=pk("done_cell"), body=lambda w: {"notes": "dendrites"})},
    "cell-provenance": {"GET": R(TEAM_VIEW, kwargs=pk("cell"))},
    "cell-state": {"POST": R(TEAM_WRITE, kwargs=pk("cell"), body=lambda w: {"to_state": "on_test"})},
    # ------------------------------------------------------------------ measurements API
    "upload-list": {
        "GET": R(PERSONS | {INSTRUMENT}, instrument_sees=True),
        "POST": R(TEAM_WRITE | {INSTRUMENT}, body=upload_body(), format="multipart", instrument_sees=True),
    },
    "upload-detail": {"GET": R(TEAM_VIEW | {INSTRUMENT}, kwargs=pk("upload"), instrument_sees=True)},
    "upload-raw": {"GET": R(TEAM_VIEW, kwargs=pk("upload"))},
    "upload-retry": {"POST": R(TEAM_WRITE, kwargs=pk("failed_upload"))},
    "instrument-list": {
        "GET": R(PERSONS),
        "POST": R(TEAM_MANAGE, body=lambda w: {"team": w.team.pk, "name": "Neware BTS"}),
    },
    "instrument-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("instrument")),
        "PUT": R(
            TEAM_MANAGE,
            kwargs=pk("instrument"),
            body=lambda w: {"name": w.instrument.name, "make": "BioLogic"},
        ),
        "PATCH": R(TEAM_MANAGE, kwargs=pk("instrument"), body=lambda w: {"serial_number": "0042"}),
        "DELETE": R(TEAM_MANAGE, kwargs=pk("spare_instrument")),
    },
    "instrument-token-revoke": {
        "POST": R(TEAM_MANAGE, kwargs=kw(pk="instrument", token_id="revoked_instrument_token"))
    },
    "instrument-tokens": {
        "GET": R(TEAM_MANAGE, kwargs=pk("instrument")),
        "POST": R(TEAM_MANAGE, kwargs=pk("instrument"), body=lambda w: {"name": "new PC"}),
    },
    "measurement-list": {"GET": R(PERSONS)},
    "measurement-detail": {"GET": R(TEAM_VIEW, kwargs=pk("measurement"))},
    "measurement-cycles": {"GET": R(TEAM_VIEW, kwargs=pk("measurement"))},
    "measurement-data": {"GET": R(TEAM_VIEW, kwargs=pk("measurement"), query="max_points=50")},
    "measurement-data-csv": {"GET": R(TEAM_VIEW, kwargs=pk("measurement"))},
    "measurement-data-parquet": {"GET": R(TEAM_VIEW, kwargs=pk("measurement"))},
    "measurement-figure": {"GET": R(TEAM_VIEW, kwargs=lambda w: {"pk": w.measurement.pk, "kind": "nyquist"})},
    "measurement-figure-csv": {
        "GET": R(TEAM_VIEW, kwargs=lambda w: {"pk": w.measurement.pk, "kind": "nyquist"})
    },
    "comparison": {"GET": R(PERSONS)},
    "derived-property-list": {"GET": R(PERSONS)},
    "derived-property-export": {"GET": R(PERSONS)},
    "derived-property-detail": {"GET": R(TEAM_VIEW, kwargs=pk("derived"))},
    "measurement-series-list": {
        "GET": R(PERSONS),
        "POST": R(TEAM_WRITE, body=lambda w: {"team": w.team.pk, "name": "EIS 20-90 C", "kind": "arrhenius"}),
    },
    "measurement-series-detail": {
        "GET": R(TEAM_VIEW, kwargs=pk("series")),
        "PUT": R(TEAM_WRITE, kwargs=pk("series"), body=lambda w: {"name": "renamed", "kind": "arrhenius"}),
        "PATCH": R(TEAM_WRITE, kwargs=pk("series"), body=lambda w: {"notes": "outlier at 90 C"}),
        "DELETE": R(TEAM_MANAGE, kwargs=pk("series")),
    },
    "measurement-series-compute": {"POST": R(TEAM_WRITE, kwargs=pk("series"))},
    "measurement-series-members": {
        "POST": R(TEAM_WRITE, kwargs=pk("series"), body=lambda w: {"measurement": w.measurement.pk})
    },
    "measurement-series-remove-member": {
        "DELETE": R(TEAM_WRITE, kwargs=kw(pk="series", measurement_id="measurement"))
    },
    # ------------------------------------------------------------------ inventory pages
    "formulations:inventory": {"GET": R(PERSONS)},
    "formulations:lot-list": {"GET": R(PERSONS)},
    "formulations:lot-receive": {"GET": R(SHARED_WRITE)},
    "formulations:lot-bulk-receive": {"GET": R(SHARED_WRITE)},
    "formulations:lot-lookup": {"GET": R(PERSONS, query=lambda w: f"code={w.lot.code}")},
    "formulations:lot-by-code": {"GET": R(PERSONS, kwargs=kw(code="lot.code"))},
    "formulations:lot-detail": {"GET": R(PERSONS, kwargs=pk("lot"))},
    "formulations:lot-label": {"GET": R(PERSONS, kwargs=pk("lot"))},
    "formulations:lot-edit": {"GET": R(SHARED_WRITE, kwargs=pk("lot"))},
    "formulations:lot-consume": {"GET": R(SHARED_WRITE, kwargs=pk("lot"))},
    "formulations:lot-return": {"GET": R(SHARED_WRITE, kwargs=pk("lot"))},
    "formulations:lot-adjust": {"GET": R(SHARED_WRITE, kwargs=pk("lot"))},
    "formulations:lot-dispose": {"GET": R(SHARED_WRITE, kwargs=pk("lot"))},
    "formulations:lot-quarantine": {"GET": R(SHARED_WRITE, kwargs=pk("lot"))},
    "formulations:lot-release": {"GET": R(SHARED_WRITE, kwargs=pk("quarantined_lot"))},
    "formulations:chemical-list": {"GET": R(PERSONS)},
    "formulations:chemical-create": {"GET": R(SHARED_WRITE)},
    "formulations:chemical-detail": {"GET": R(PERSONS, kwargs=pk("chemical"))},
    "formulations:chemical-edit": {"GET": R(SHARED_WRITE, kwargs=pk("chemical"))},
    "formulations:supplier-list": {"GET": R(PERSONS)},
    "formulations:supplier-create": {"GET": R(SHARED_WRITE)},
    "formulations:supplier-edit": {"GET": R(SHARED_WRITE, kwargs=pk("supplier"))},
    "formulations:location-tree": {"GET": R(PERSONS)},
    "formulations:location-create": {"GET": R(SHARED_WRITE)},
    "formulations:location-detail": {"GET": R(PERSONS, kwargs=pk("location"))},
    "formulations:location-edit": {"GET": R(SHARED_WRITE, kwargs=pk("location"))},
    # ------------------------------------------------------------------ synthesis pages
    "formulations:recipe-list": {"GET": R(PERSONS)},
    "formulations:recipe-create": {"GET": R(SHARED_WRITE)},
    "formulations:composition-preview": {"GET": R(PERSONS)},
    "formulations:recipe-detail": {"GET": R(TEAM_VIEW, kwargs=pk("recipe"))},
    "formulations:version-detail": {"GET": R(TEAM_VIEW, kwargs=pk("version"))},
    "formulations:version-edit": {"GET": R(TEAM_WRITE, kwargs=pk("draft"))},
    "formulations:batch-list": {"GET": R(PERSONS)},
    "formulations:batch-log": {"GET": R(SHARED_WRITE)},
    "formulations:batch-preview": {"GET": R(TEAM_VIEW, kwargs=pk("version"))},
    "formulations:batch-detail": {"GET": R(TEAM_VIEW, kwargs=pk("batch"))},
    "formulations:batch-file": {"GET": R(TEAM_VIEW, kwargs=kw(pk="batch", file_pk="batch_file"))},
    "formulations:mould-list": {"GET": R(PERSONS)},
    "formulations:membrane-list": {"GET": R(PERSONS)},
    "formulations:membrane-create": {"GET": R(SHARED_WRITE)},
    "formulations:membrane-preview": {"GET": R(PERSONS, query=lambda w: f"batch={w.batch.pk}")},
    "formulations:membrane-detail": {"GET": R(TEAM_VIEW, kwargs=pk("membrane"))},
    "formulations:pellet-list": {"GET": R(PERSONS)},
    "formulations:pellet-create": {"GET": R(SHARED_WRITE)},
    "formulations:pellet-preview": {"GET": R(PERSONS)},
    "formulations:pellet-detail": {"GET": R(TEAM_VIEW, kwargs=pk("pellet"))},
    "formulations:electrode-list": {"GET": R(PERSONS)},
    "formulations:electrode-create": {"GET": R(SHARED_WRITE)},
    "formulations:electrode-preview": {"GET": R(PERSONS)},
    "formulations:electrode-detail": {"GET": R(TEAM_VIEW, kwargs=pk("electrode"))},
    # ------------------------------------------------------------------ cell pages
    "cells:cell-list": {"GET": R(PERSONS)},
    "cells:cell-assemble": {"GET": R(SHARED_WRITE)},
    "cells:cell-bulk-assemble": {"GET": R(SHARED_WRITE)},
    "cells:cell-lookup": {"GET": R(PERSONS)},
    "cells:cell-by-code": {"GET": R(TEAM_VIEW, kwargs=kw(code="cell.code"))},
    "cells:cell-detail": {"GET": R(TEAM_VIEW, kwargs=pk("cell"))},
    "cells:cell-change-state": {
        "GET": R(NOBODY, kwargs=pk("cell"), refusals=(302, 405)),
        "POST": R(TEAM_WRITE, kwargs=pk("cell"), body=lambda w: {"to_state": "on_test"}, format="form"),
    },
    "cells:cell-postmortem": {
        "GET": R(NOBODY, kwargs=pk("done_cell"), refusals=(302, 405)),
        "POST": R(TEAM_WRITE, kwargs=pk("done_cell"), body=lambda w: {"notes": "dendrites"}, format="form"),
    },
    "cells:cell-attachment": {"GET": R(TEAM_VIEW, kwargs=kw(pk="cell", attachment_id="cell_file"))},
    "cells:cell-provenance": {"GET": R(TEAM_VIEW, kwargs=pk("cell"))},
    "cells:cell-label": {"GET": R(TEAM_VIEW, kwargs=pk("cell"))},
    "cells:where-used": {"GET": R(PERSONS, query=lambda w: f"lot={w.llzto_lot.pk}")},
    # ------------------------------------------------------------------ measurement pages
    "measurements:upload-list": {"GET": R(PERSONS)},
    "measurements:upload-detail": {"GET": R(TEAM_VIEW, kwargs=pk("failed_upload"))},
    "measurements:upload-retry": {
        "GET": R(NOBODY, kwargs=pk("failed_upload"), refusals=(302, 405)),
        "POST": R(TEAM_WRITE, kwargs=pk("failed_upload"), body=lambda w: {}, format="form"),
    },
    "measurements:measurement-list": {"GET": R(PERSONS)},
    "measurements:measurement-detail": {"GET": R(TEAM_VIEW, kwargs=pk("measurement"))},
    "measurements:derived-list": {"GET": R(PERSONS)},
    "measurements:derived-export": {"GET": R(PERSONS)},
    "measurements:derived-detail": {"GET": R(TEAM_VIEW, kwargs=pk("derived"))},
    "measurements:comparison": {"GET": R(PERSONS)},
    "measurements:comparison-figure": {"GET": R(PERSONS, query="metric=conductivity_20C")},
    "measurements:comparison-export": {"GET": R(PERSONS)},
    "measurements:series-list": {"GET": R(PERSONS)},
    "measurements:series-detail": {"GET": R(TEAM_VIEW, kwargs=pk("series"))},
    "measurements:series-compute": {
        "GET": R(NOBODY, kwargs=pk("series"), refusals=(302, 405)),
        "POST": R(TEAM_WRITE, kwargs=pk("series"), body=lambda w: {}, format="form", ok=(302,)),
    },
    "measurements:series-arrhenius": {"GET": R(TEAM_VIEW, kwargs=pk("series"))},
    "measurements:series-arrhenius-csv": {"GET": R(TEAM_VIEW, kwargs=pk("series"))},
    "measurements:nyquist-fit": {"GET": R(TEAM_VIEW, kwargs=pk("measurement"))},
    "measurements:nyquist-fit-csv": {"GET": R(TEAM_VIEW, kwargs=pk("measurement"))},
    "measurements:reproduction": {"GET": R(PERSONS)},
    # ------------------------------------------------------------------ audit pages (managers and staff)
    "audit-list": {"GET": R(TEAM_MANAGE, query="kind=cells.cell")},
    "record-history": {"GET": R(TEAM_MANAGE, kwargs=lambda w: {"label": "cells.cell", "pk": w.cell.pk})},
    # the researcher's own page ("my changes"); everyone else's is for managers and staff
    "user-history": {"GET": R(TEAM_MANAGE | {RESEARCHER}, kwargs=lambda w: {"pk": w.people[RESEARCHER].pk})},
}


# ------------------------------------------------------------------------------------------------ discovery
def _walk(
    patterns: list[Any], namespace: str = "", prefix: str = ""
) -> Iterator[tuple[str, str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or namespace
            yield from _walk(p.url_patterns, ns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern) and p.name:
            yield (f"{namespace}:{p.name}" if namespace else p.name), prefix + str(p.pattern), p


def api_methods(pattern: URLPattern) -> set[str] | None:
    """The HTTP methods a DRF route answers (None for a plain Django view)."""
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions is not None:
        view = callback.cls  # type: ignore[attr-defined]
        allowed = {m.lower() for m in getattr(view, "http_method_names", [])}
        return {m.upper() for m in actions if m in allowed} - {"HEAD", "OPTIONS"}  # HEAD answers as GET does
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None and hasattr(view_class, "permission_classes"):
        return {m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)}
    return None


def discovered_routes() -> dict[str, tuple[str, set[str] | None]]:
    """URL name -> (route, API methods or None), every named route but the admin's."""
    found: dict[str, tuple[str, set[str] | None]] = {}
    for name, route, pattern in _walk(get_resolver().url_patterns):
        if name.startswith("admin:"):
            continue
        found[name] = (route, api_methods(pattern))
    return found


def test_every_route_has_a_matrix_entry() -> None:
    missing, methods = [], []
    for name, (route, api) in sorted(discovered_routes().items()):
        if name not in MATRIX:
            missing.append(f"{name} ({route})")
        elif api is not None and set(MATRIX[name]) != api:
            methods.append(f"{name}: answers {sorted(api)}, matrix lists {sorted(MATRIX[name])}")
        elif api is None and not MATRIX[name]:
            methods.append(f"{name}: no method in the matrix")
    assert not missing, (
        f"routes without a permission-matrix entry (add them to MATRIX in {__file__}): {missing}"
    )
    assert not methods, f"matrix entries whose methods differ from the route's: {methods}"


def test_every_matrix_entry_names_a_route_that_exists() -> None:
    stale = sorted(set(MATRIX) - set(discovered_routes()))
    assert not stale, f"MATRIX names routes that no longer exist: {stale}"


# ------------------------------------------------------------------------------------------------ the run
@dataclass
class Tally:
    tried: int = 0
    allowed_ok: int = 0
    refused: int = 0
    unexpected_access: list[str] = field(default_factory=list)
    unexpected_refusal: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    by_actor: Counter[str] = field(default_factory=Counter)
    marker_shown_to_team: int = (
        0  # responses to the team's own people that show its records (the probe works)
    )


def _history_tables() -> list[str]:
    return [
        m._meta.db_table
        for m in apps.get_models()
        if m.__name__.startswith("Historical")
        and m._meta.app_label in ("lims", "formulations", "cells", "measurements")
    ]


def _history_rows(tables: list[str]) -> int:
    sql = " + ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)
    with connection.cursor() as cur:
        cur.execute(f"SELECT {sql}")
        return int(cur.fetchone()[0])


def _api_clients(w: World) -> dict[str, APIClient]:
    from lims.models import ApiToken

    clients: dict[str, APIClient] = {}
    for actor in ACTORS:
        client = APIClient()
        if actor in w.people:  # type: ignore[attr-defined]
            _, key = ApiToken.issue(user=w.people[actor], name=f"matrix {actor}")  # type: ignore[attr-defined]
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        elif actor == INSTRUMENT:
            client.credentials(HTTP_AUTHORIZATION=f"Token {w.instrument_key}")
        elif actor == REVOKED:
            client.credentials(HTTP_AUTHORIZATION=f"Token {w.revoked_key}")
        clients[actor] = client
    return clients


def _page_clients(w: World) -> dict[str, Client]:
    clients: dict[str, Client] = {}
    for actor in ACTORS:
        if actor in w.people:  # type: ignore[attr-defined]
            client = Client()
            client.force_login(w.people[actor])  # type: ignore[attr-defined]
        elif actor == INSTRUMENT:  # pages use sessions: a token header makes no one logged in
            client = Client(HTTP_AUTHORIZATION=f"Token {w.instrument_key}")
        elif actor == REVOKED:
            client = Client(HTTP_AUTHORIZATION=f"Token {w.revoked_key}")
        else:
            client = Client()
        clients[actor] = client
    return clients


def _body_bytes(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    if hasattr(response, "file_to_stream") and response.file_to_stream is not None:
        return b""
    return bytes(response.content)


def _call(client: Any, method: str, url: str, op: Op, w: World) -> Any:
    body = op.body(w) if op.body is not None else None
    fn = getattr(client, method.lower())
    if method == "GET":
        return fn(url)
    if op.format == "multipart":
        return (
            fn(url, body or {}, format="multipart") if isinstance(client, APIClient) else fn(url, body or {})
        )
    if op.format == "form":
        return fn(url, body or {})
    return fn(url, body if body is not None else {}, format="json")


def _admin_urls(w: World) -> list[tuple[str, str]]:
    """(label, url) for the admin index and every registered model's list, plus the world's records' pages."""
    from django.contrib import admin

    urls = [("admin:index", reverse("admin:index"))]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append((f"{prefix}_changelist", reverse(f"{prefix}_changelist")))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            for page in ("change", "history"):
                urls.append((f"{prefix}_{page}", reverse(f"{prefix}_{page}", args=[obj.pk])))
    return urls


def test_the_permission_matrix_holds_for_every_route_and_requester(world, capsys) -> None:  # type: ignore[no-untyped-def]
    w = world
    api_clients, page_clients = _api_clients(w), _page_clients(w)
    tables = _history_tables()
    routes = discovered_routes()
    tally = Tally()

    def run(label: str, method: str, url: str, op: Op, is_api: bool) -> None:
        for actor in ACTORS:
            client = api_clients[actor] if is_api else page_clients[actor]
            unsafe = method != "GET"
            try:
                with transaction.atomic():
                    before = _history_rows(tables) if unsafe else 0
                    response = _call(client, method, url, op, w)
                    body = _body_bytes(response)
                    wrote = unsafe and _history_rows(tables) != before
                    transaction.set_rollback(True)
            except Exception as exc:  # a crash is an outcome too (a 500 for the requester)
                tally.tried += 1
                tally.other.append(f"{method} {url} as {actor}: raised {type(exc).__name__}: {exc}")
                continue
            tally.tried += 1
            tally.by_actor[actor] += 1
            status = response.status_code
            where = f"{method} {url} as {actor}: {status}"
            to_login = status == 302 and "/login/" in response.get("Location", "")
            sees = actor in SEES_TEAM or (actor == INSTRUMENT and op.instrument_sees)
            if actor in SEES_TEAM and MARKER.encode() in body:
                tally.marker_shown_to_team += 1
            if not sees and MARKER.encode() in body:
                tally.unexpected_access.append(f"{where} shows a record of the team ({label})")
            if actor in op.allowed:
                if status in op.ok or (
                    not is_api and status == 302 and not to_login and 302 not in op.refusals
                ):
                    tally.allowed_ok += 1
                elif status in (401, 403, 404) or to_login:
                    tally.unexpected_refusal.append(f"{where} {body[:200]!r}")
                else:
                    tally.other.append(f"{where} {body[:300]!r}")
            else:
                if wrote:
                    tally.unexpected_access.append(f"{where} and WROTE to the database ({label})")
                elif (
                    status in op.refusals
                    or to_login
                    or (status == 302 and not is_api and unsafe and not wrote)
                ):
                    tally.refused += 1
                elif status == 400 and is_api and b"does not exist" in body:
                    tally.refused += 1  # a record they cannot see is, for them, a record that does not exist
                elif 200 <= status < 300 or status == 302:
                    tally.unexpected_access.append(f"{where} ({label})")
                else:
                    tally.other.append(f"{where} {body[:300]!r}")

    for name, methods in MATRIX.items():
        route = routes.get(name)
        if route is None:
            continue
        is_api = route[1] is not None
        for method, op in methods.items():
            if op.skip:
                continue
            kwargs = op.kwargs(w) if op.kwargs else {}
            query = op.query(w) if callable(op.query) else op.query
            url = reverse(name, kwargs=kwargs) + (f"?{query}" if query else "")
            run(name, method, url, op, is_api)
    for label, url in _admin_urls(w):
        run(label, "GET", url, Op(ONLY_STAFF), is_api=False)

    with capsys.disabled():
        print(
            f"\npermission matrix: requests tried {tally.tried}, allowed and served {tally.allowed_ok}, "
            f"refusals {tally.refused}, unexpected access {len(tally.unexpected_access)}, "
            f"unexpected refusals {len(tally.unexpected_refusal)}, other outcomes {len(tally.other)}; "
            f"{tally.marker_shown_to_team} responses showed the team's records to its own people "
            f"({len(MATRIX)} routes + {len(_admin_urls(w))} admin pages x {len(ACTORS)} requesters)"
        )
    problems = (
        [f"UNEXPECTED ACCESS {p}" for p in tally.unexpected_access]
        + [f"unexpected refusal {p}" for p in tally.unexpected_refusal]
        + [f"unexpected outcome {p}" for p in tally.other]
    )
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert tally.marker_shown_to_team > 200, (
        "the leak probe never saw the team's records: is MARKER rendered?"
    )
