"""The reproduction page: the paper's reported values next to the LIMS's, and the paper's panels redrawn."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from lims.permissions import scope_to_teams
from measurements import reproduction
from measurements.models import Measurement, MeasurementSeries, SeriesKind


def _panels(user: Any) -> list[dict[str, str]]:
    """Figure panels of the paper, each drawn from the LIMS's own data (existing figure endpoints)."""
    panels: list[dict[str, str]] = []
    series = scope_to_teams(MeasurementSeries.objects.filter(name__startswith="DEMO-"), user).order_by("name")
    for s in series:
        if s.kind == SeriesKind.ARRHENIUS:
            panels.append(
                {
                    "title": f"Arrhenius: {s.name}",
                    "figure": reverse("measurements:series-arrhenius", args=[s.pk]),
                    "csv": reverse("measurements:series-arrhenius-csv", args=[s.pk]),
                }
            )
    measurements = scope_to_teams(
        Measurement.objects.filter(cell__code__startswith="DEMO-").select_related("cell", "upload"), user
    ).order_by("cell__code", "id")
    # (cell, part of the raw file name, figure kind, title): the paper's panels, each from one demo measurement
    wanted = [
        (
            "DEMO-LP20-BLK-001",
            "_PEIS_20C",
            "nyquist-fit",
            "Nyquist with the fitted circuit, LLZTO-PMA at 20 °C",
        ),
        ("DEMO-LP20-SYM-001", "_CA_", "chronoamperometry", "Chronoamperometry for the transference number"),
        ("DEMO-LP20-SYM-001", "_GCPL_0.1mAcm2", "voltage-time", "Li|LLZTO-PMA|Li at 0.1 mA/cm2"),
        ("DEMO-PMA-SYM-001", "_GCPL_0.1mAcm2", "voltage-time", "Li|PMA|Li at 0.1 mA/cm2 (short)"),
        ("DEMO-LP20-SYM-002", "_CCD", "voltage-time", "Critical current density: stepped current, LLZTO-PMA"),
        ("DEMO-LP20-LSS-001", "_LSV", "lsv", "Electrochemical stability window (LSV), LLZTO-PMA"),
        ("DEMO-LP20-LFP-002", "_rate", "rate-capability", "Li|LFP rate capability"),
        ("DEMO-LP20-LFP-001", "_0.2C", "capacity-cycle", "Li|LFP long cycling at 0.2 C"),
    ]
    for code, name_part, kind, title in wanted:
        m = next(
            (
                m
                for m in measurements
                if m.cell and m.cell.code == code and m.upload and name_part in m.upload.original_name
            ),
            None,
        )
        if m is None:
            continue
        if kind == "nyquist-fit":
            figure = reverse("measurements:nyquist-fit", args=[m.pk])
            csv = reverse("measurements:nyquist-fit-csv", args=[m.pk])
        else:
            figure = reverse("measurement-figure", args=[m.pk, kind])
            csv = reverse("measurement-figure-csv", args=[m.pk, kind])
        panels.append({"title": title, "figure": figure, "csv": csv})
    return panels


@login_required
def reproduction_page(request: HttpRequest) -> HttpResponse:
    rows = reproduction.build(request.user)
    return render(
        request,
        "measurements/reproduction.html",
        {
            "rows": rows,
            "summary": reproduction.summary(rows),
            "panels": _panels(request.user),
            "tolerance": reproduction.TOLERANCE,
        },
    )
