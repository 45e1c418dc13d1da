"""Fixtures of the cross-app tests."""

from __future__ import annotations

import pytest

from tests.world import MARKER, build_world

# the requester kinds of the permission matrix (tests/test_permission_matrix.py) that are people
VIEWER, RESEARCHER, MANAGER, STAFF, OUTSIDER, MIXED = (
    "viewer",
    "researcher",
    "manager",
    "staff",
    "outsider",
    "mixed",
)


@pytest.fixture
def world(team, other_team, viewer, researcher, manager, staff_user, outsider, settings):  # type: ignore[no-untyped-def]
    """The test world (tests/world.py) plus what the permission matrix changes, and the people who ask.

    ``world.people`` maps the requester kinds of the matrix to users; "mixed" is a viewer of the world's team who
    is a researcher in another team.
    """
    from django.core.files.base import ContentFile

    from cells.services import change_state
    from cells.tests import factories as f
    from formulations.services import inventory
    from lims.models import Membership, User
    from measurements.services import ingest

    settings.CELERY_TASK_ALWAYS_EAGER = True
    team.description = f"{MARKER} group"
    team.save()
    w = build_world(team=team, researcher=researcher, manager=manager)
    # what the matrix deletes, releases, retries: records nothing else needs
    w.spare_chemical = inventory.create_chemical(actor=researcher, name="Unused salt")  # type: ignore[attr-defined]
    w.spare_supplier = inventory.save_supplier(actor=researcher, name="Unused supplier")  # type: ignore[attr-defined]
    w.spare_location = inventory.save_location(actor=researcher, name="Empty shelf", kind="shelf")  # type: ignore[attr-defined]
    q = inventory.receive_lot(chemical=w.chemical, quantity="20 g", actor=researcher)
    w.quarantined_lot = inventory.quarantine_lot(lot=q, actor=researcher, reason="water?")  # type: ignore[attr-defined]
    spare_cell = f.blocking_cell(team=team, user=researcher, pellet_=w.spare_pellet, code=f"{MARKER}-CELL-2")
    w.spare_cell = spare_cell  # type: ignore[attr-defined]
    done_pellet = f.pellet(team=team, user=researcher, powder=w.llzto_lot)
    w.done_cell = f.blocking_cell(team=team, user=researcher, pellet_=done_pellet, code=f"{MARKER}-CELL-3")  # type: ignore[attr-defined]
    change_state(cell=w.done_cell, to_state="disassembled", actor=researcher)  # type: ignore[attr-defined]
    w.free_pellet = f.pellet(team=team, user=researcher, powder=w.llzto_lot)  # type: ignore[attr-defined]
    w.spare_instrument = ingest.create_instrument(actor=manager, team=team, name=f"{MARKER} spare")  # type: ignore[attr-defined]
    failed = ingest.store_upload(
        file=ContentFile(b"\x00\xff" * 512, name=f"{MARKER}-garbage.nda"),
        filename=f"{MARKER}-garbage.nda",
        uploaded_by=researcher,
        team=team,
        cell=w.cell,
    ).upload
    w.failed_upload = ingest.process_upload(failed.pk)  # type: ignore[attr-defined]
    assert w.failed_upload.stage == "failed"  # type: ignore[attr-defined]
    mixed = User.objects.create_user(username="mia", password="pw-mia")
    Membership.objects.create(user=mixed, team=team, role="viewer")
    Membership.objects.create(user=mixed, team=other_team, role="researcher")
    w.people = {  # type: ignore[attr-defined]
        VIEWER: viewer,
        RESEARCHER: researcher,
        MANAGER: manager,
        STAFF: staff_user,
        OUTSIDER: outsider,
        MIXED: mixed,
    }
    return w
