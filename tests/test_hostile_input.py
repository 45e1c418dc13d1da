"""Hostile input: a corpus of malformed instrument files, file names and record payloads.

Every case must end in one of three ways, and each is checked:

- ``refused``: a 4xx answer in the error envelope with a message a researcher understands (the case names a
  phrase it must contain); nothing stored: no Upload, no raw file, no audit-trail row at all;
- ``failed``: the upload is accepted (202), then ends "failed" with a human reason (a phrase again), shown on its
  status URL; no Measurement, no cycle summaries, no Parquet file (the raw bytes are kept: they are the record);
- ``sanitised`` (hostile file NAMES on valid data only): parsed, stored under its SHA-256 inside MEDIA_ROOT, the
  name reduced to a plain, printable base name; nothing written anywhere else.

The parse runs in-process (as with no broker), the same code the worker runs. The corpus size and every outcome
are printed. measurements/tests/test_ingest_bad_input.py holds the bad real-instrument files of the ingestion
issue; this corpus is generated, so it runs without ../shared/echem_data.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.world import World, build_world, impedance_mpt

pytestmark = pytest.mark.django_db

MAPPING = {
    "columns": {"time_s": ["time", "s"], "voltage_V": ["voltage", "V"], "current_A": ["current", "mA"]}
}


def gcpl_mpt(rows: int = 4000, **kwargs: Any) -> bytes:
    import tempfile

    from measurements.parsers.synthetic_mpt import write_mpt

    k = np.arange(rows)
    current = np.where((k // 500) % 2 == 0, 1e-4, -1e-4)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gcpl.mpt"
        write_mpt(
            path,
            "GCPL",
            {
                "time_s": k * 10.0,
                "voltage_V": 0.05 * np.sign(current),
                "current_A": current,
                "cycle": 1 + k // 1000,
            },
            **kwargs,
        )
        return path.read_bytes()


def csv_rows(*times: str, value: str = "3.1") -> bytes:
    return ("time;voltage;current\n" + "".join(f"{t};{value};1\n" for t in times)).encode()


def zip_bytes(members: dict[str, bytes | int], *, level: int = 9) -> bytes:
    """A zip; a member given as an int is that many zero bytes, streamed (a bomb costs no memory to build)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, content in members.items():
            if isinstance(content, int):
                with zf.open(name, "w", force_zip64=True) as out:
                    chunk = bytes(1 << 20)
                    for _ in range(content >> 20):
                        out.write(chunk)
            else:
                zf.writestr(name, content)
    return buf.getvalue()


def truncated(content: bytes, fraction: float = 0.5) -> bytes:
    cut = content[: int(len(content) * fraction)]
    return cut[: cut.rfind(b"\t") + 1]  # stop in the middle of a row


def with_nul_bytes(content: bytes) -> bytes:
    middle = len(content) // 2
    return content[:middle] + b"\x00" * 64 + content[middle + 64 :]


@dataclass(frozen=True)
class Case:
    name: str
    expect: str  # refused | failed | sanitised
    phrase: str  # in the message / reason (case-insensitive); for sanitised: the stored name
    content: Callable[[], bytes] | None = None  # an upload's file
    filename: str = "data.mpt"
    fields: Callable[[World], dict[str, Any]] | None = None  # the upload's other form fields
    # a record payload instead of an upload
    method: str = ""
    url: Callable[[World], str] | None = None
    body: Callable[[World], Any] | None = None
    raw_json: Callable[[World], bytes] | None = None


def upload(
    name: str, expect: str, phrase: str, content: Callable[[], bytes], filename: str = "data.mpt", **kw: Any
) -> Case:
    return Case(name, expect, phrase, content=content, filename=filename, **kw)


def payload(
    name: str,
    phrase: str,
    method: str,
    url: Callable[[World], str],
    body: Callable[[World], Any] | None = None,
    raw_json: Callable[[World], bytes] | None = None,
) -> Case:
    return Case(name, "refused", phrase, method=method, url=url, body=body, raw_json=raw_json)


def lot_body(**extra: Any) -> Callable[[World], Any]:
    return lambda w: {"chemical": w.chemical.pk, "quantity": "5 g", **extra}


def pellet_body(**extra: Any) -> Callable[[World], Any]:
    def make(w: World) -> Any:
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
            **extra,
        }

    return make


def deep_json(depth: int) -> bytes:
    return b'{"notes": ' + b"[" * depth + b"]" * depth + b"}"


LOTS = lambda w: "/api/v1/lots/"  # noqa: E731
CORPUS: list[Case] = [
    # ------------------------------------------------------------------ instrument files
    upload("zero bytes", "refused", "empty", lambda: b""),
    upload("truncated .mpt (cut mid-row)", "failed", "line", lambda: truncated(gcpl_mpt())),
    upload("truncated .mpt header", "failed", "truncated", lambda: b"\n".join(gcpl_mpt().split(b"\n")[:5])),
    upload(
        "huge header count (99,999,999 declared, 1 M short lines)",
        "failed",
        "header lines",
        lambda: b"EC-Lab ASCII FILE\r\nNb header lines : 99999999\r\n" + b"\n" * 1_000_000,
    ),
    upload(
        "header count of 10^30",
        "failed",
        "header lines",
        lambda: b"EC-Lab ASCII FILE\r\nNb header lines : 1" + b"0" * 30 + b"\r\n" + b"x\r\n" * 10,
    ),
    upload(
        "binary garbage named .mpt",
        "failed",
        "not a recognised instrument file",
        lambda: np.random.default_rng(9).integers(0, 256, 40_000, dtype=np.uint8).tobytes(),
    ),
    upload("NUL bytes inside the data of an .mpt", "failed", "line", lambda: with_nul_bytes(gcpl_mpt())),
    upload("UTF-16 .mpt", "failed", "data.mpt", lambda: gcpl_mpt().decode("cp1252").encode("utf-16")),
    upload(
        "EBCDIC (cp500) .mpt",
        "failed",
        "not a recognised instrument file",
        lambda: gcpl_mpt().decode("cp1252").encode("cp500"),
    ),
    upload(
        "an HTML page named .mpt",
        "failed",
        "not a recognised instrument file",
        lambda: b"<!doctype html><html><script>alert(1)</script></html>" * 20,
    ),
    upload(
        "a BioLogic .mpr magic with garbage",
        "failed",
        "data.mpr",
        lambda: b"BIO-LOGIC MODULAR FILE\x1a" + bytes(range(256)) * 40,
        filename="data.mpr",
    ),
    upload(
        "zip bomb in an .ndax (256 MB of zeros)",
        "failed",
        "zip bomb",
        lambda: zip_bytes({"data.ndc": 256 << 20, "Step.xml": b"<x/>"}),
        filename="bomb.ndax",
    ),
    upload(
        "an .ndax with 5000 members",
        "failed",
        "members",
        lambda: zip_bytes({f"m{i}.ndc": b"x" for i in range(5000)}),
        filename="many.ndax",
    ),
    upload(
        "truncated .ndax",
        "failed",
        "damaged",
        lambda: zip_bytes({"data.ndc": bytes(range(256)) * 400})[:3000],
        filename="cut.ndax",
    ),
    upload(
        "an .ndax without Neware data",
        "failed",
        "no .ndc member",
        lambda: zip_bytes({"readme.txt": b"hello"}),
        filename="empty.ndax",
    ),
    upload(
        "NaN in a data column",
        "failed",
        "non-finite",
        lambda: csv_rows("0", "1", "nan", "3"),
        filename="nan.csv",
        fields=lambda w: {"mapping": json.dumps(MAPPING)},
    ),
    upload(
        "inf in a data column",
        "failed",
        "non-finite",
        lambda: csv_rows("0", "1", "inf", "3"),
        filename="inf.csv",
        fields=lambda w: {"mapping": json.dumps(MAPPING)},
    ),
    upload(
        "time going backwards",
        "failed",
        "time goes backwards",
        lambda: csv_rows("0", "10", "5", "20"),
        filename="back.csv",
        fields=lambda w: {"mapping": json.dumps(MAPPING)},
    ),
    upload(
        "a CSV without the mapped column",
        "failed",
        "not found",
        lambda: b"time;current\n0;1\n1;1\n",
        filename="cols.csv",
        fields=lambda w: {"mapping": json.dumps(MAPPING)},
    ),
    upload(
        "a CSV with 100,000 columns",
        "failed",
        "cols.csv",
        lambda: (";".join(f"c{i}" for i in range(100_000)) + "\n").encode() * 3,
        filename="cols.csv",
        fields=lambda w: {"mapping": json.dumps(MAPPING)},
    ),
    upload(
        "acquisition start in the future (2099)",
        "failed",
        "in the future",
        lambda: gcpl_mpt(start_time=__import__("datetime").datetime(2099, 1, 1, 9, 0)),
    ),
    upload(
        "a declared technique the file contradicts",
        "failed",
        "declares GCPL",
        lambda: impedance_mpt(seed=41),
        fields=lambda w: {"technique": "GCPL"},
    ),
    # ------------------------------------------------------------------ hostile file names (valid data)
    upload(
        "path traversal in the file name",
        "sanitised",
        "passwd.mpt",
        lambda: impedance_mpt(seed=21),
        filename="../../../../etc/passwd.mpt",
    ),
    upload(
        "Windows path traversal in the file name",
        "sanitised",
        "boot.mpt",
        lambda: impedance_mpt(seed=22),
        filename="..\\..\\windows\\boot.mpt",
    ),
    upload(
        "NUL byte in the file name",
        "sanitised",
        "evil.mpt",
        lambda: impedance_mpt(seed=23),
        filename="evil\x00.mpt",
    ),
    upload(
        "HTML in the file name",
        "sanitised",
        "script_.mpt",
        lambda: impedance_mpt(seed=24),
        filename="<script>alert(1)</script>.mpt",
    ),
    upload(
        "a right-to-left override and a tab in the file name",
        "sanitised",
        "reportgnp.mpt",
        lambda: impedance_mpt(seed=26),
        filename="report\u202egnp\t.mpt",
    ),
    upload(
        "a 600-character file name",
        "sanitised",
        "x" * 40,
        lambda: impedance_mpt(seed=25),
        filename="x" * 596 + ".mpt",
    ),
    # ------------------------------------------------------------------ upload form fields
    upload(
        "temperature in the wrong unit",
        "refused",
        "expected a temperature",
        lambda: impedance_mpt(seed=31),
        fields=lambda w: {"temperature": "25 mL"},
    ),
    upload(
        "temperature NaN",
        "refused",
        "temperature",
        lambda: impedance_mpt(seed=32),
        fields=lambda w: {"temperature": "nan degC"},
    ),
    upload(
        "temperature inf",
        "refused",
        "temperature",
        lambda: impedance_mpt(seed=33),
        fields=lambda w: {"temperature": "inf K"},
    ),
    upload(
        "temperature below absolute zero",
        "refused",
        "absolute zero",
        lambda: impedance_mpt(seed=34),
        fields=lambda w: {"temperature": "-300 degC"},
    ),
    upload(
        "column mapping in a wrong unit",
        "refused",
        "mapping",
        lambda: csv_rows("0", "1"),
        filename="m.csv",
        fields=lambda w: {
            "mapping": json.dumps({"columns": {"time_s": ["time", "kg"], "voltage_V": ["voltage", "V"]}})
        },
    ),
    upload(
        "column mapping that is not JSON",
        "refused",
        "mapping",
        lambda: csv_rows("0", "1"),
        filename="m.csv",
        fields=lambda w: {"mapping": "{not json"},
    ),
    upload(
        "column mapping nested 100,000 deep",
        "refused",
        "mapping",
        lambda: csv_rows("0", "2"),
        filename="m.csv",
        fields=lambda w: {"mapping": "[" * 100_000 + "]" * 100_000},
    ),
    upload(
        "an unknown technique",
        "refused",
        "technique",
        lambda: impedance_mpt(seed=35),
        fields=lambda w: {"technique": "XRD"},
    ),
    upload(
        "a cell and a membrane at once",
        "refused",
        "exactly one",
        lambda: impedance_mpt(seed=36),
        fields=lambda w: {"membrane": w.membrane.code},
    ),
    upload(
        "a cell that does not exist",
        "refused",
        "no cell",
        lambda: impedance_mpt(seed=37),
        fields=lambda w: {"cell": "NOPE-404"},
    ),
    # ------------------------------------------------------------------ record payloads
    payload("a negative quantity received", "cannot be negative", "POST", LOTS, lot_body(quantity="-5 g")),
    payload("a NaN quantity received", "nan g", "POST", LOTS, lot_body(quantity="nan g")),
    payload("an infinite quantity received", "inf g", "POST", LOTS, lot_body(quantity="inf g")),
    payload("a quantity in a wrong unit", "expected", "POST", LOTS, lot_body(quantity="5 degC")),
    payload(
        "a negative amount consumed",
        "cannot be negative",
        "POST",
        lambda w: f"/api/v1/lots/{w.lot.pk}/consume/",
        lambda w: {"amount": "-1 g"},
    ),
    payload(
        "a negative pellet mass",
        "final mass",
        "POST",
        lambda w: "/api/v1/pellets/",
        pellet_body(final_mass="-0.3 g"),
    ),
    payload(
        "a pellet diameter in grams",
        "expected a length",
        "POST",
        lambda w: "/api/v1/pellets/",
        pellet_body(final_diameter="12 g"),
    ),
    payload("a lot received in the future", "future", "POST", LOTS, lot_body(received_on="2999-01-01")),
    payload(
        "a lot opened in the future",
        "future",
        "PATCH",
        lambda w: f"/api/v1/lots/{w.lot.pk}/",
        lambda w: {"opened_on": "2999-01-01"},
    ),
    payload(
        "a pellet made in the future",
        "future",
        "POST",
        lambda w: "/api/v1/pellets/",
        pellet_body(made_at="2999-01-01T09:00:00Z"),
    ),
    payload(
        "a cell assembled in the future",
        "future",
        "PATCH",
        lambda w: f"/api/v1/cells/{w.cell.pk}/",
        lambda w: {"version": w.cell.version, "assembled_at": "2999-01-01T09:00:00Z"},
    ),
    payload(
        "a zero molar mass",
        "greater than zero",
        "POST",
        lambda w: "/api/v1/chemicals/",
        lambda w: {"name": "Zero", "molar_mass": "0 g/mol"},
    ),
    payload(
        "a JSON list instead of an object",
        "expected",
        "POST",
        LOTS,
        raw_json=lambda w: b'[{"quantity": "5 g"}]',
    ),
    payload("malformed JSON", "json", "POST", LOTS, raw_json=lambda w: b'{"quantity": "5 g",'),
    payload(
        "a number beyond float range",
        "inf g",
        "POST",
        LOTS,
        raw_json=lambda w: b'{"chemical": %d, "quantity": 1e400}' % w.chemical.pk,
    ),
    payload(
        "JSON nested 100,000 deep",
        "json",
        "PATCH",
        lambda w: f"/api/v1/lots/{w.lot.pk}/",
        raw_json=lambda w: deep_json(100_000),
    ),
]


@dataclass
class Outcomes:
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)


def _history_rows() -> int:
    from django.apps import apps
    from django.db import connection

    tables = [
        m._meta.db_table
        for m in apps.get_models()
        if m.__name__.startswith("Historical")
        and m._meta.app_label in ("lims", "formulations", "cells", "measurements")
    ]
    with connection.cursor() as cur:
        cur.execute("SELECT " + " + ".join(f'(SELECT count(*) FROM "{t}")' for t in tables))
        return int(cur.fetchone()[0])


def _message(response: Any) -> str:
    """The error envelope's message (a response outside the envelope gives its raw start, to be reported)."""
    try:
        body = response.json()
    except Exception:
        return f"<not JSON: {response.content[:120]!r}>"
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))
    return f"<not the error envelope: {str(body)[:120]}>"


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_the_hostile_corpus_is_refused_or_failed_with_a_reason_and_leaves_nothing_behind(
    team, researcher, manager, settings, tmp_path, django_capture_on_commit_callbacks, capsys
):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    from lims.models import ApiToken
    from measurements.models import CycleSummary, Measurement, Stage, Upload

    w = build_world(team=team, researcher=researcher, manager=manager)
    _, key = ApiToken.issue(user=researcher, name="hostile")
    client = APIClient(raise_request_exception=False)  # a crash is an outcome (500), reported with the others
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    media = Path(settings.MEDIA_ROOT)
    outside = tmp_path.parent  # everything a hostile name could reach next to MEDIA_ROOT
    out = Outcomes()

    for case in CORPUS:
        uploads, measurements = Upload.objects.count(), Measurement.objects.count()
        summaries = CycleSummary.objects.count()
        history = _history_rows()
        parquet = {p for p in _files(media / "parsed")}
        raw = _files(media / "raw")
        around = {p for p in _files(outside) if media not in p.parents}
        with django_capture_on_commit_callbacks(execute=True):
            if case.content is not None:
                data = {"cell": w.cell.code, **(case.fields(w) if case.fields else {})}
                data["file"] = SimpleUploadedFile(case.filename, case.content())
                response = client.post("/api/v1/uploads/", data, format="multipart")
            else:
                assert case.url is not None
                url = case.url(w)
                if case.raw_json is not None:
                    response = client.generic(
                        case.method,
                        url,
                        case.raw_json(w),  # type: ignore[arg-type]  # bytes go through as they are
                        content_type="application/json",
                    )
                else:
                    assert case.body is not None
                    response = getattr(client, case.method.lower())(url, case.body(w), format="json")
        status = response.status_code
        what = f"{case.name}: {status}"

        def problem(text: str, what: str = what) -> None:
            out.problems.append(f"{what}: {text}")

        if case.expect == "refused":
            message = _message(response)
            out.rows.append((case.name, f"{status} refused", message[:100]))
            out.kinds["refused (4xx)"] += 1
            if not 400 <= status < 500:
                problem(f"expected a 4xx, got {response.content[:300]!r}")
            elif case.phrase.lower() not in message.lower():
                problem(f"message {message!r} does not say {case.phrase!r}")
            if Upload.objects.count() != uploads or _files(media / "raw") != raw:
                problem("stored an upload or a raw file")
            if _history_rows() != history:
                problem("wrote to the database")
            continue
        if status != 202:
            out.rows.append(
                (case.name, f"{status} (expected 202)", response.content[:100].decode(errors="replace"))
            )
            problem(f"expected 202, got {response.content[:300]!r}")
            continue
        upload = Upload.objects.get(pk=response.json()["id"])
        if case.expect == "failed":
            out.rows.append((case.name, f"202 then {upload.stage}", upload.error[:100]))
            out.kinds["failed with a reason"] += 1
            status_body = client.get(response.json()["status_url"]).json()
            if upload.stage != Stage.FAILED:
                problem(f"ended {upload.stage}, not failed")
            elif case.phrase.lower() not in upload.error.lower():
                problem(f"reason {upload.error!r} does not say {case.phrase!r}")
            if status_body["error"] != upload.error:
                problem("the status URL does not show the reason")
            if Measurement.objects.count() != measurements or CycleSummary.objects.count() != summaries:
                problem("left a Measurement or summary rows")
            if _files(media / "parsed") != parquet:
                problem("left a Parquet file")
        else:  # sanitised
            out.rows.append(
                (case.name, f"202 then {upload.stage}", f"stored as {upload.original_name[:60]!r}")
            )
            out.kinds["name sanitised, data parsed"] += 1
            name = upload.original_name
            if upload.stage != Stage.DONE:
                problem(f"valid data under a hostile name ended {upload.stage}: {upload.error}")
            if case.phrase not in name or any(c in name for c in '/\\\x00\r\n\t<>"\u202e') or ".." in name:
                problem(f"stored name {name!r} is not a plain base name")
            if not (media / str(upload.raw_file.name)).resolve().is_relative_to(media.resolve()):
                problem(f"raw file outside MEDIA_ROOT: {upload.raw_file.name}")
        if {p for p in _files(outside) if media not in p.parents} != around:
            problem("wrote a file outside MEDIA_ROOT")

    with capsys.disabled():
        print(
            f"\nhostile corpus: {len(CORPUS)} cases, outcomes {dict(out.kinds)}, problems {len(out.problems)}"
        )
        for name, outcome, detail in out.rows:
            print(f"  {name:<58} {outcome:<18} {detail}")
    assert len(CORPUS) >= 25
    assert not out.problems, "\n".join(out.problems)
