"""Write synthetic Neware BTS ``.ndax`` archives from canonical SI arrays.

Used by the demo, so that its raw files include the archive a Neware BTS 8 cycler writes; read back by
:func:`measurements.parsers.parse_file` (through NewareNDA) into the same canonical arrays.

The layout is the one NewareNDA decodes (the format is undocumented; NewareNDA reverse-engineered it):

* a zip archive whose members are ``Step.xml`` (first: content detection looks for it), ``TestInfo.xml``,
  ``VersionInfo.xml`` (gb2312 XML) and ``data.ndc``;
* ``data.ndc`` version 5, file type 1: a 4096-byte header (byte 0 the file type, byte 2 the version), then
  4096-byte pages, each holding 45 records of 87 bytes from byte 125 (the last 56 bytes of a page unused);
* a record: byte 7 ``0x55``; index (u4), cycle - 1 (u4), program step (u1), status (u1: 1 CC charge, 2 CC
  discharge, 4 rest) at 8-18; step time in ms (u8), voltage in 0.1 mV (i4), current (i4) at 23-39; charge and
  discharge capacity and energy (i8 each, counted from the step's start) at 43-75; the wall-clock date
  (u2 year, u1 month, day, hour, minute, second) at 75-82; the current range (i4) at 82-86, which sets the
  scale of current, capacity and energy (range -1: 1e-5 mA, mAs and mWs per count...).

Time restarts at every step as on the cycler (the parser makes it cumulative again); voltage keeps 0.1 mV and
current the range's resolution, as in a real file.

Example::

    write_ndax(path, {"time_s": t, "voltage_V": v, "current_A": i})
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

PAGE = 4096
RECORD = 87
FIRST_RECORD = 125
RECORDS_PER_PAGE = (PAGE - FIRST_RECORD - 56) // RECORD  # 45
#: current ranges (mA, as the cycler names them negative) and the scale of one count, from NewareNDA's table
RANGES: tuple[tuple[int, float], ...] = (
    (1, 1e-5),
    (2, 1e-5),
    (5, 1e-5),
    (10, 1e-4),
    (20, 1e-4),
    (50, 1e-4),
    (100, 1e-3),
    (500, 1e-3),
    (1000, 1e-2),
    (5000, 1e-2),
    (10000, 1e-2),
    (100000, 1e-2),
)
STATUS_CHARGE, STATUS_DISCHARGE, STATUS_REST = 1, 2, 4
_INT32 = 2**31 - 1


def current_range(max_abs_mA: float) -> tuple[int, float]:
    """The smallest range (as written: negative mA) that holds ``max_abs_mA``, and its scale (mA per count)."""
    for rng, scale in RANGES:
        if max_abs_mA <= rng:
            return -rng, scale
    raise ValueError(f"a current of {max_abs_mA:g} mA is beyond the largest Neware range")


def _xml(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="GB2312"?>\r\n<root>' + body + "</root>\r\n").encode("gb2312")


def _records(
    t: npt.NDArray[np.float64], v: npt.NDArray[np.float64], i_mA: npt.NDArray[np.float64], start: datetime
) -> bytes:
    n = t.size
    status = np.where(i_mA > 0, STATUS_CHARGE, np.where(i_mA < 0, STATUS_DISCHARGE, STATUS_REST))
    new_step = np.concatenate([[True], status[1:] != status[:-1]])
    starts = np.nonzero(new_step)[0]
    # a step starts where the previous one's last record was taken (the first step: at t[0])
    t0 = np.where(starts > 0, t[np.maximum(starts - 1, 0)], t[0])
    step_t0 = np.repeat(t0, np.diff(np.concatenate([starts, [n]])))
    step_time_ms = np.rint((t - step_t0) * 1000.0).astype(np.int64)
    rng, scale = current_range(float(np.max(np.abs(i_mA))) if n else 0.0)
    # charge and energy counted from the step's start, trapezoids between records (mA s and mW s)
    dt = np.diff(t, prepend=t[0])
    dq = np.concatenate([[0.0], 0.5 * (i_mA[1:] + i_mA[:-1])]) * dt
    de = np.concatenate([[0.0], 0.5 * (i_mA[1:] * v[1:] + i_mA[:-1] * v[:-1])]) * dt
    dq[starts] = 0.0
    de[starts] = 0.0
    q = np.cumsum(dq)
    e = np.cumsum(de)
    seg = np.diff(np.concatenate([starts, [n]]))
    q -= np.repeat(q[starts], seg)
    e -= np.repeat(e[starts], seg)
    current = np.rint(i_mA / scale)
    if np.any(np.abs(current) > _INT32):  # pragma: no cover - guarded by current_range
        raise ValueError("current beyond the range's counter")
    out = bytearray()
    for k in range(n):
        when = start + timedelta(seconds=float(t[k] - t[0]))
        qk, ek = abs(q[k]) / scale, abs(e[k]) / scale
        charging = status[k] == STATUS_CHARGE
        rec = (
            b"\x00" * 7
            + b"\x55"
            + struct.pack("<IIBB", k + 1, 0, int(status[k]), int(status[k]))
            + b"\x00" * 5
            + struct.pack("<Qii", int(step_time_ms[k]), round(float(v[k]) * 10000.0), int(current[k]))
            + b"\x00" * 4
            + struct.pack(
                "<qqqq",
                round(qk) if charging else 0,
                0 if charging else round(qk),
                round(ek) if charging else 0,
                0 if charging else round(ek),
            )
            + struct.pack("<HBBBBB", when.year, when.month, when.day, when.hour, when.minute, when.second)
            + struct.pack("<i", rng)
            + b"\x00"
        )
        assert len(rec) == RECORD
        out += rec
    return bytes(out)


def ndc_bytes(columns: Mapping[str, npt.ArrayLike], start: datetime) -> bytes:
    """The ``data.ndc`` member (version 5, file type 1) for ``time_s``, ``voltage_V``, ``current_A``."""
    t = np.asarray(columns["time_s"], dtype=np.float64)
    v = np.asarray(columns["voltage_V"], dtype=np.float64)
    i_mA = np.asarray(columns["current_A"], dtype=np.float64) * 1e3
    if not (t.size == v.size == i_mA.size) or t.size == 0:
        raise ValueError("time_s, voltage_V and current_A must be non-empty and of one length")
    records = _records(t, v, i_mA, start)
    header = bytearray(PAGE)
    header[0], header[2] = 1, 5
    pages = [bytes(header)]
    per_page = RECORDS_PER_PAGE * RECORD
    for off in range(0, len(records), per_page):
        body = records[off : off + per_page]
        pages.append(
            b"\x00" * FIRST_RECORD
            + body.ljust(per_page, b"\x00")
            + b"\x00" * (PAGE - FIRST_RECORD - per_page)
        )
    return b"".join(pages)


def write_ndax(
    path: Path, columns: Mapping[str, npt.ArrayLike], *, comment: str = "", start: datetime | None = None
) -> Path:
    """Write ``columns`` (time_s, voltage_V, current_A) as a Neware ``.ndax`` archive at ``path``; the archive
    is byte-for-byte reproducible (fixed member dates), so the same data is the same upload."""
    start = start or datetime(2024, 1, 1, 9, 0, 0)
    data = ndc_bytes(columns, start)
    stamp = start.strftime("%Y-%m-%d %H:%M:%S")
    members = [
        (
            "Step.xml",
            _xml(
                '<config type="Step File" version="17"><Head_Info><Remark Value="' + comment + '"/>'
                "</Head_Info></config>"
            ),
        ),
        ("TestInfo.xml", _xml(f'<config><TestInfo StartTime="{stamp}" Remarks="{comment}"/></config>')),
        (
            "VersionInfo.xml",
            _xml(
                '<config><ZwjVersion SvrVer="synthetic" CurrClientVer="synthetic" '
                'ZwjVersion="synthetic" MainXwjVer="synthetic"/></config>'
            ),
        ),
        ("data.ndc", data),
    ]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, payload in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, payload)
    return path
