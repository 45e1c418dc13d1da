"""Demo measurements: synthetic raw files for the demo cells, uploaded through the instrument API.

For every demo cell (cells/demo.py) the files its experiment would produce are generated from the paper's values
(measurements/demo_files.py, clearly labelled synthetic) with the cell's own geometry, then POSTed to
/api/v1/uploads/ with an instrument token, exactly as a potentiostat would; the upload pipeline parses them and the
analyses compute the derived properties. Series (Arrhenius, transference) are then grouped and computed through
the same services the API uses. Idempotent: re-running uploads nothing new (same bytes -> same upload).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings

from cells.models import Cell
from measurements import demo_files as files
from measurements import demo_paper as paper
from measurements.models import Instrument, MeasurementSeries, Stage, Upload

ELECTROLYTE_OF_CODE = {"LP20": "llzto_pma", "PMA": "pma", "PEL": "pellet"}


def _geometry(cell: Cell) -> tuple[float, float]:
    """(thickness_m, area_m2) of a cell's electrolyte and active area, as the analysis will read them."""
    if cell.membrane is not None:
        thickness_m = cell.membrane.thickness_um * 1e-6
    else:
        assert cell.pellet is not None
        thickness_m = cell.pellet.final_thickness * 1e-3
    return thickness_m, cell.active_area * 1e-4


def _plan(cell: Cell, folder: Path) -> list[files.DemoFile]:
    """The raw files the experiment on this demo cell produces (its code says which experiment it is)."""
    parts = cell.code.split("-")  # DEMO-LP20-SYM-001
    key = ELECTROLYTE_OF_CODE.get(parts[1])
    if key is None:
        return []
    e = paper.ELECTROLYTES[key]
    kind = parts[2]
    thickness_m, area_m2 = _geometry(cell)
    prefix = cell.code
    runs = {run[0]: run for run in paper.SYMMETRIC_RUNS}
    if kind == "BLK":
        # the pellet's spectra come as the potentiostat's own binary .mpr files, the others as .mpt exports
        return files.arrhenius_eis(
            folder,
            e,
            thickness_m=thickness_m,
            area_m2=area_m2,
            prefix=prefix,
            file_format="mpr" if key == "pellet" else "mpt",
        )
    if kind == "LSS":
        return [files.lsv(folder, e, area_m2=area_m2, prefix=prefix)]
    if cell.code in runs:
        _code, _key, j, eta, hours, short = runs[cell.code]
        return [
            files.symmetric_cycling(
                folder,
                e,
                area_m2=area_m2,
                prefix=prefix,
                j_mA_per_cm2=j,
                overpotential_mV=eta,
                hours=hours,
                short_at_h=short,
            )
        ]
    if kind == "SYM" and parts[3] == "001":
        out = files.transference(
            folder,
            e,
            thickness_m=thickness_m,
            area_m2=area_m2,
            prefix=prefix,
            r_interface_ohm=e.interfacial_ohm[0],
        )
        out.append(files.symmetric_cycling(folder, e, area_m2=area_m2, prefix=prefix))
        out += files.interfacial_eis(folder, e, thickness_m=thickness_m, area_m2=area_m2, prefix=prefix)
        if key != "llzto_pma":  # the LLZTO-PMA CCD test runs on its own cell (SYM-002)
            out.append(files.ccd(folder, e, area_m2=area_m2, prefix=prefix))
        return out
    if kind == "SYM":
        return [files.ccd(folder, e, area_m2=area_m2, prefix=prefix)]
    if cell.cathode is None:
        return []
    mass_g = cell.cathode.active_mass
    coin = "land-xlsx"  # coin full cells run on a LAND cycler
    if kind == "LFP" and key == "llzto_pma" and parts[3] == "002":
        caps: list[float] = []
        rates: list[float] = []
        for c, q in zip(paper.LFP_RATE_C, paper.LFP_RATE_MAH_PER_G, strict=True):
            caps += [q] * 5
            rates += [c] * 5
        return [
            files.full_cell(
                folder,
                f"{prefix}_rate",
                capacities_mAh_g=caps,
                c_rates=rates,
                active_mass_g=mass_g,
                specific_capacity=paper.LFP_SPECIFIC_CAPACITY,
                plateau_V=3.42,
                notes="synthetic rate test 0.1-2 C and back to 0.1 C, 5 cycles each",
                file_format=coin,
            )
        ]
    if kind == "LFP":
        if key == "llzto_pma":
            caps_arr = files._activation_then_fade(
                paper.LFP_02C_FIRST, paper.LFP_02C_MAX, paper.LFP_02C_CYCLES + 10, paper.LFP_02C_RETENTION
            )
            ce, notes = 0.9989, "synthetic 0.2 C long cycling"
        elif key == "pma":  # 114.09 -> 69.01 mAh/g after 114 cycles
            first, last, n = paper.LFP_02C_PMA
            caps_arr = files._activation_then_fade(first, first, n, last / first, best_at=2)
            ce, notes = 0.995, "synthetic 0.2 C cycling, fast decay"
        else:  # sintered pellet: 110.22 mAh/g, shorts after 227 cycles (the file ends there)
            first = paper.LFP_02C_PELLET_FIRST
            caps_arr = files._activation_then_fade(
                first, first, paper.LFP_02C_PELLET_SHORT_CYCLE, 0.8, best_at=2
            )
            ce, notes = 0.995, "synthetic 0.2 C cycling until the short"
        return [
            files.full_cell(
                folder,
                f"{prefix}_0.2C",
                capacities_mAh_g=list(caps_arr),
                c_rates=0.2,
                active_mass_g=mass_g,
                specific_capacity=paper.LFP_SPECIFIC_CAPACITY,
                plateau_V=3.42,
                notes=notes,
                ce=ce,
                points=8,
                file_format=coin,
            )
        ]
    if kind == "NCM":
        caps_arr = files._activation_then_fade(
            140.0, paper.NCM_05C_MAX, paper.NCM_05C_CYCLES + 5, paper.NCM_05C_RETENTION, best_at=5
        )
        return [
            files.full_cell(
                folder,
                f"{prefix}_0.5C",
                capacities_mAh_g=list(caps_arr),
                c_rates=0.5,
                active_mass_g=mass_g,
                specific_capacity=paper.NCM_SPECIFIC_CAPACITY,
                plateau_V=3.75,
                notes="synthetic NCM811 0.5 C cycling",
                points=8,
                file_format="ndax",  # the NCM811 cell runs on a Neware BTS
            )
        ]
    if kind == "POUCH":
        caps_arr = files._activation_then_fade(
            110.0, paper.LFP_1C_MAX, paper.LFP_1C_CYCLES + 10, paper.LFP_1C_RETENTION
        )
        return [
            files.full_cell(
                folder,
                f"{prefix}_1C",
                capacities_mAh_g=list(caps_arr),
                c_rates=1.0,
                active_mass_g=mass_g,
                specific_capacity=paper.LFP_SPECIFIC_CAPACITY,
                plateau_V=3.42,
                notes="synthetic 1 C long cycling",
                points=8,
            )
        ]
    return []


def _instrument(user: Any, team: Any) -> tuple[Instrument, str]:
    from measurements.services.ingest import create_instrument, issue_instrument_token

    instrument = Instrument.objects.filter(team=team, name="VMP-300 (demo)").first()
    if instrument is None:
        instrument = create_instrument(
            actor=user,
            team=team,
            name="VMP-300 (demo)",
            make="BioLogic",
            model="VMP-300",
            serial_number="DEMO-0001",
            channel_count=16,
        )
    _token, key = issue_instrument_token(actor=user, instrument=instrument, name="demo upload")
    return instrument, key


def load(*, user: Any, team: Any, stdout: Any) -> None:
    from rest_framework.test import APIClient

    from measurements.services.derive import add_series_member, create_series, run_for_series

    cells = list(
        Cell.objects.filter(team=team, code__startswith="DEMO-")
        .select_related("membrane", "pellet", "cathode")
        .order_by("code")
    )
    if not cells:
        stdout.write("measurements: no demo cells (load the cells demo first); skipped")
        return
    membranes = {c.membrane.code: c.membrane for c in cells if c.membrane is not None}
    instrument, key = _instrument(user, team)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    folder = Path(settings.MEDIA_ROOT).parent / "demo_files"
    folder.mkdir(parents=True, exist_ok=True)
    uploaded, failed = 0, []
    series: dict[str, MeasurementSeries] = {}
    for cell in cells:
        for f in _plan(cell, Path(tempfile.mkdtemp(dir=folder))):
            upload = _post(client, f, cell=cell.code)
            if upload is None or upload.stage != Stage.DONE:
                failed.append(f"{f.path.name}: {upload.error if upload else 'refused'}")
                continue
            uploaded += 1
            if f.series:
                s = series.get(f.series) or MeasurementSeries.objects.filter(team=team, name=f.series).first()
                if s is None:
                    s = create_series(
                        team=team, name=f.series, kind=f.series_kind, cell=cell, created_by=user
                    )
                series[f.series] = s
                role = f.role if f.series_kind == "transference" else ""
                add_series_member(series=s, measurement=upload.measurement, role=role, order=f.order)
    for key_, e in (("llzto_pma", "DEMO-LP20"), ("pma", "DEMO-PMA")):
        membrane = next((c.membrane for c in cells if c.code.startswith(e) and c.membrane), None)
        if membrane is not None and paper.ELECTROLYTES[key_].tensile_kPa:
            f = files.tensile_csv(
                Path(tempfile.mkdtemp(dir=folder)),
                f"{membrane.code}_tensile",
                paper.ELECTROLYTES[key_].tensile_kPa or 0.0,
            )
            upload = _post(client, f, membrane=membrane.code)
            if upload is not None and upload.stage == Stage.DONE:
                uploaded += 1
            else:
                failed.append(f"{f.path.name}: {upload.error if upload else 'refused'}")
    for s in series.values():
        run_for_series(s.pk, actor=user)
    _ = membranes
    stdout.write(
        f"measurements: {uploaded} synthetic files uploaded through the API, {len(series)} series computed"
        + (f"; FAILED: {'; '.join(failed)}" if failed else "")
    )


def _post(client: Any, f: files.DemoFile, **target: str) -> Upload | None:
    data: dict[str, Any] = {"technique": f.technique, "notes": f"SYNTHETIC DEMO DATA. {f.notes}", **target}
    if f.temperature_C is not None:
        data["temperature"] = f"{f.temperature_C} degC"
    if f.mapping:
        data["mapping"] = json.dumps(f.mapping)
    with f.path.open("rb") as fh:
        data["file"] = fh
        response = client.post("/api/v1/uploads/", data, format="multipart")
    if response.status_code not in (200, 201, 202):
        return None
    return Upload.objects.select_related("measurement").filter(pk=response.json()["id"]).first()
