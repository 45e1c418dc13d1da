"""A small, complete lab for the cross-app tests: one record of every kind, owned by one team, with real files.

``build_world(team=..., researcher=..., manager=...)`` makes shared inventory (supplier, nested locations,
chemicals, lots), a recipe with a frozen and a draft version, a batch with a file, a mould, a membrane, a pellet,
an electrode, a blocking cell with a post-mortem file, an instrument with a live and a revoked token, a synthetic
impedance upload parsed through the real pipeline (raw file, Parquet, Measurement, derived properties), a series,
and personal tokens. Every record the team owns carries ``MARKER`` in its code or name, so a test can tell from
any response body whether someone saw a record of this team (shared inventory never carries it).

Used by the permission matrix, the concurrency tests, the hostile-input corpus and the schemathesis run.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile

#: every record of the world's team has this in its code or name (and nothing else does)
MARKER = "SECA"


@dataclass
class World:
    team: Any
    supplier: Any
    location: Any
    chemical: Any
    llzto: Any
    li: Any
    lot: Any
    llzto_lot: Any
    li_lot: Any
    transaction: Any
    recipe: Any
    version: Any  # frozen (used by the batch)
    draft: Any  # a draft version: its lines can change
    component: Any
    step: Any
    batch: Any
    batch_file: Any
    mould: Any
    membrane: Any
    pellet: Any
    spare_pellet: Any
    electrode: Any
    cell: Any
    cell_file: Any
    instrument: Any
    instrument_token: Any
    instrument_key: str
    revoked_instrument_token: Any
    upload: Any
    measurement: Any
    derived: Any
    series: Any
    researcher_token: Any  # a personal token of the researcher (not the one a test client sends)
    revoked_key: str  # the key of a revoked personal token of the researcher

    def __getattr__(self, name: str) -> Any:
        """Tests add their own records to a world (``w.spare_cell = ...``); an unknown one is an AttributeError."""
        raise AttributeError(name)


def impedance_mpt(temperature_C: float = 25.0, r_bulk_ohm: float = 120.0, seed: int = 1) -> bytes:
    """A synthetic PEIS spectrum (R_b in series with a blocking CPE) as EC-Lab ASCII bytes."""
    from measurements.analysis import synthetic
    from measurements.parsers.synthetic_mpt import write_mpt

    spec = synthetic.eis_spectrum(
        "R0-CPE1",
        {"R0": r_bulk_ohm, "CPE1_0": 5e-6, "CPE1_1": 0.85},
        np.logspace(6, -1, 61),
        noise=0.001,
        seed=seed,  # different seeds, different bytes (the same bytes would be the same upload)
    )
    n = spec.freq_Hz.size
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "peis.mpt"
        write_mpt(
            path,
            "PEIS",
            {
                "time_s": np.arange(n, dtype=float) * 2.0,
                "freq_Hz": spec.freq_Hz,
                "z_re_ohm": spec.z_ohm.real,
                "z_im_ohm": spec.z_ohm.imag,
                "temperature_C": np.full(n, temperature_C),
            },
        )
        return path.read_bytes()


def build_world(*, team: Any, researcher: Any, manager: Any) -> World:
    from cells.models import Cell
    from cells.tests import factories as f
    from formulations.models import (
        ChemicalRole,
        LocationKind,
        ProcessStep,
        RecipeComponent,
        RecipeVersion,
        StepKind,
        StockTransaction,
    )
    from formulations.services import inventory
    from lims.audit import acting_as
    from lims.models import ApiToken, Attachment, AttachmentKind
    from measurements.models import DerivedProperty, MeasurementSeries, SeriesMember
    from measurements.services import ingest

    with acting_as(researcher, reason="test world", via="service"):
        supplier = inventory.save_supplier(actor=researcher, name="Canrd")
        building = inventory.save_location(
            actor=researcher, name="Chemistry building", kind=LocationKind.BUILDING
        )
        location = inventory.save_location(
            actor=researcher, name="Glovebox 1", kind=LocationKind.GLOVEBOX, parent=building
        )
        chemical = inventory.create_chemical(
            actor=researcher, name="Lithium bis(fluorosulfonyl)imide", abbreviation="LiFSI",
            role=ChemicalRole.SALT, molar_mass=187.07,
        )  # fmt: skip
        llzto = f.chemical("LLZTO", role=ChemicalRole.CERAMIC_FILLER, theoretical_density=5.1)
        li = f.chemical("Li foil", role=ChemicalRole.ANODE_METAL, molar_mass=6.94, density=0.534)
        lot = inventory.receive_lot(
            chemical=chemical, quantity="100 g", actor=researcher, supplier=supplier, location=location
        )
        llzto_lot = inventory.receive_lot(
            chemical=llzto, quantity="50 g", actor=researcher, supplier=supplier
        )
        li_lot = inventory.receive_lot(chemical=li, quantity="10 g", actor=researcher, supplier=supplier)

        version = f.recipe_version(team=team, user=researcher, name=f"{MARKER} PMA recipe")
        recipe = version.recipe
        batch = f.batch(team=team, user=researcher, version=version, lots=[lot])
        batch.code = f"{MARKER}-B1"
        batch.save()
        # a draw whose reason and purpose name the batch: the shared lot's ledger shows them to the team only
        inventory.consume_from_lot(
            lot=lot, amount="0.5 g", actor=researcher, reason=f"top-up of batch {batch.code}",
            purpose=f"LiFSI for batch {batch.code}", batch=batch,
        )  # fmt: skip
        version.frozen_at = batch.created_at
        version.save()
        draft = RecipeVersion.objects.create(recipe=recipe, number=2, notes="draft", created_by=researcher)
        component = RecipeComponent.objects.create(
            version=draft, chemical=chemical, role=ChemicalRole.SALT, order=0, amount_kind="mass", amount=1.0
        )
        step = ProcessStep.objects.create(version=draft, order=0, kind=StepKind.MIX, description="stir 1 h")
        batch_file = Attachment(
            content_type=ContentType.objects.get_for_model(type(batch)),
            object_id=batch.pk,
            caption="balance print-out",
            team=team,
            created_by=researcher,
        )
        batch_file.file.save("balance.txt", ContentFile(b"<html><script>alert(1)</script>"), save=True)

        mould = f.mould()
        membrane = f.membrane(team=team, user=researcher, b=batch)
        membrane.code = f"{MARKER}-M1"
        membrane.save()
        pellet = f.pellet(team=team, user=researcher, powder=llzto_lot)
        pellet.code = f"{MARKER}-P1"
        pellet.save()
        spare_pellet = f.pellet(team=team, user=researcher, powder=llzto_lot)
        spare_pellet.code = f"{MARKER}-P2"
        spare_pellet.save()
        electrode = f.electrode(team=team, user=researcher, active=llzto_lot)
        electrode.code = f"{MARKER}-E1"
        electrode.save()
        cell = f.blocking_cell(team=team, user=researcher, pellet_=pellet, code=f"{MARKER}-CELL-1")
        cell_file = Attachment(
            content_type=ContentType.objects.get_for_model(Cell),
            object_id=cell.pk,
            kind=AttachmentKind.PHOTO,
            caption="post-mortem photo",
            team=team,
            created_by=researcher,
        )
        cell_file.file.save("photo.html", ContentFile(b"<html><script>alert(1)</script></html>"), save=True)

    instrument = ingest.create_instrument(actor=manager, team=team, name=f"{MARKER} VMP3", make="BioLogic")
    instrument_token, instrument_key = ingest.issue_instrument_token(
        actor=manager, instrument=instrument, name="lab PC"
    )
    revoked_instrument_token, _ = ingest.issue_instrument_token(
        actor=manager, instrument=instrument, name="old PC"
    )
    ingest.revoke_instrument_token(actor=manager, instrument=instrument, token_id=revoked_instrument_token.pk)

    stored = ingest.store_upload(
        file=ContentFile(impedance_mpt(), name=f"{MARKER}-peis.mpt"),
        filename=f"{MARKER}-peis.mpt",
        uploaded_by=instrument.service_user,
        team=team,
        cell=cell,
        instrument=instrument,
        temperature_C=25.0,
    )
    upload = ingest.process_upload(stored.upload.pk)
    assert upload is not None and upload.stage == "done", upload and upload.error
    measurement = upload.measurement
    derived = DerivedProperty.objects.filter(measurement=measurement).first()
    if derived is None:  # the pipeline computed none for this sample: one by hand, like a manual entry
        derived = DerivedProperty.objects.create(
            team=team, subject_key=f"measurement:{measurement.pk}", name="bulk_resistance", value=120.0,
            unit="ohm", method="manual", method_version="1", measurement=measurement, cell=cell,
        )  # fmt: skip
    with acting_as(researcher, reason="test world", via="service"):
        series = MeasurementSeries.objects.create(
            team=team, name=f"{MARKER} Arrhenius", kind="arrhenius", cell=cell, created_by=researcher
        )
        SeriesMember.objects.create(series=series, measurement=measurement, order=0, created_by=researcher)

    researcher_token, _ = ApiToken.issue(user=researcher, name="notebook")
    revoked, revoked_key = ApiToken.issue(user=researcher, name="lost laptop")
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=revoked.created_at)
    transaction = StockTransaction.objects.filter(lot=lot).order_by("id").first()

    return World(
        team=team, supplier=supplier, location=location, chemical=chemical, llzto=llzto, li=li, lot=lot,
        llzto_lot=llzto_lot, li_lot=li_lot, transaction=transaction, recipe=recipe, version=version,
        draft=draft, component=component, step=step, batch=batch, batch_file=batch_file, mould=mould,
        membrane=membrane, pellet=pellet, spare_pellet=spare_pellet, electrode=electrode, cell=cell,
        cell_file=cell_file, instrument=instrument, instrument_token=instrument_token,
        instrument_key=instrument_key, revoked_instrument_token=revoked_instrument_token, upload=upload,
        measurement=measurement, derived=derived, series=series, researcher_token=researcher_token,
        revoked_key=revoked_key,
    )  # fmt: skip
