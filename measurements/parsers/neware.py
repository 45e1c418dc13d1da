"""Neware BTS binary files: ``.nda`` and ``.ndax``, decoded with the NewareNDA package.

* ``.nda``: a binary file starting with ``NEWARE`` and the date of the file version.
* ``.ndax``: a zip archive (Step.xml, TestInfo.xml, VersionInfo.xml, data.ndc, data_AUX_*.ndc
  ...). Before NewareNDA opens it, the zip directory is checked against :class:`ZipLimits`
  (total uncompressed size, compression ratio, member count): a zip bomb is a ParseError and
  nothing is extracted.

Canonical columns:

* ``time_s``: running test time rebuilt from NewareNDA's ``Time`` column, which restarts at 0 at
  every step in most files: wherever ``Time`` decreases the previous value is added as an
  offset. (The wall-clock ``Timestamp`` is NOT used: real files show the instrument clock
  jumping backwards; its first value becomes ``metadata["start_time"]``.)
* ``voltage_V`` <- ``Voltage``; ``current_A`` <- ``Current(mA)`` x1e-3 (negative = discharge);
* ``capacity_charge_Ah`` / ``capacity_discharge_Ah`` <- ``Charge_/Discharge_Capacity(mAh)``
  x1e-3, per step as Neware counts them; ``charge_Ah`` = charge - discharge capacity (signed,
  per step); ``energy_Wh`` = (``Charge_Energy(mWh)`` - ``Discharge_Energy(mWh)``) x1e-3, signed
  per step;
* ``cycle`` <- ``Cycle`` (NewareNDA's software cycle number, 1-based); ``step`` <- ``Step``
  (running step counter, 1-based; the program step is in ``Step_Index``, not exported);
* ``temperature_C`` <- ``T1`` when the file has an auxiliary temperature channel.
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._base import AnyArray, FloatArray, ParsedData, ParseError, validate


@dataclass(frozen=True)
class ZipLimits:
    """Limits checked on the zip directory of an .ndax before anything is decompressed."""

    max_total_bytes: int = 4 * 1024**3
    max_ratio: float = 200.0
    max_members: int = 1000


DEFAULT_ZIP_LIMITS = ZipLimits()


def check_zip(
    path: Path, limits: ZipLimits = DEFAULT_ZIP_LIMITS, source: str | None = None
) -> dict[str, Any]:
    """Refuse zip bombs: check sizes from the central directory only. Returns a summary."""
    source = source or path.name
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ParseError(f"{source}: damaged or truncated .ndax archive: {exc}") from None
    if len(infos) > limits.max_members:
        raise ParseError(f"{source}: the .ndax archive has {len(infos)} members (limit {limits.max_members})")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > limits.max_total_bytes:
        raise ParseError(
            f"{source}: the .ndax archive would expand to {total / 1e6:.1f} MB, more than the "
            f"limit of {limits.max_total_bytes / 1e6:.1f} MB; refusing to extract it"
        )
    ratio = total / max(packed, 1)
    if ratio > limits.max_ratio:
        raise ParseError(
            f"{source}: the .ndax archive has a compression ratio of {ratio:.0f}:1 (limit "
            f"{limits.max_ratio:.0f}:1): looks like a zip bomb, refusing to extract it"
        )
    names = [i.filename for i in infos]
    if not any(n.endswith(".ndc") for n in names):
        raise ParseError(f"{source}: zip archive without Neware data (no .ndc member): {names[:8]}")
    return {"members": names, "uncompressed_bytes": total, "compression_ratio": round(ratio, 2)}


def running_time(step_time: FloatArray) -> FloatArray:
    """Turn a per-step time that restarts at every step into a running test time."""
    t = np.asarray(step_time, dtype=np.float64)
    if len(t) < 2:
        return t.copy()
    reset = np.diff(t) < 0
    offsets = np.concatenate(([0.0], np.cumsum(np.where(reset, t[:-1], 0.0))))
    return t + offsets


def read_neware(path: Path, source: str | None = None, zip_limits: ZipLimits | None = None) -> ParsedData:
    """Parse a Neware ``.nda`` or ``.ndax`` file (see the module docstring)."""
    source = source or path.name
    with path.open("rb") as fh:
        magic = fh.read(6)
    is_zip = magic.startswith(b"PK\x03\x04")
    meta: dict[str, Any] = {"instrument": "Neware BTS"}
    if is_zip:
        meta["archive"] = check_zip(path, zip_limits or DEFAULT_ZIP_LIMITS, source)
    try:
        import NewareNDA
    except ImportError as exc:  # pragma: no cover
        raise ParseError(f"{source}: reading Neware files needs the 'NewareNDA' package") from exc
    import logging

    logging.getLogger("NewareNDA").setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NewareNDA's pandas deprecation warnings
            if is_zip:
                df = NewareNDA.NewareNDAx.read_ndax(str(path), software_cycle_number=True)
            else:
                df = NewareNDA.NewareNDA.read_nda(str(path), software_cycle_number=True)
    except ParseError:
        raise
    except Exception as exc:  # NewareNDA raises many types on damaged input
        kind = ".ndax" if is_zip else ".nda"
        raise ParseError(
            f"{source}: cannot decode this Neware {kind} file (damaged, truncated or an "
            f"unsupported version): {type(exc).__name__}: {exc}"
        ) from None
    if len(df) == 0:
        raise ParseError(f"{source}: the Neware file holds no data records")
    cols: dict[str, AnyArray] = {}
    src: dict[str, str] = {}

    def f64(name: str) -> FloatArray:
        return np.asarray(df[name].to_numpy(dtype=np.float64), dtype=np.float64)

    if "Time" not in df.columns:
        raise ParseError(f"{source}: Neware data without a 'Time' column")
    cols["time_s"] = running_time(f64("Time"))
    src["time_s"] = "Time (per step, made cumulative)"
    for canon, name, factor in (
        ("voltage_V", "Voltage", 1.0),
        ("current_A", "Current(mA)", 1e-3),
        ("capacity_charge_Ah", "Charge_Capacity(mAh)", 1e-3),
        ("capacity_discharge_Ah", "Discharge_Capacity(mAh)", 1e-3),
        ("cycle", "Cycle", 1.0),
        ("step", "Step", 1.0),
        ("temperature_C", "T1", 1.0),
    ):
        if name in df.columns:
            cols[canon] = f64(name) * factor
            src[canon] = name
    if "capacity_charge_Ah" in cols and "capacity_discharge_Ah" in cols:
        cols["charge_Ah"] = cols["capacity_charge_Ah"] - cols["capacity_discharge_Ah"]
        src["charge_Ah"] = "Charge_Capacity(mAh) - Discharge_Capacity(mAh)"
    if "Charge_Energy(mWh)" in df.columns and "Discharge_Energy(mWh)" in df.columns:
        cols["energy_Wh"] = (f64("Charge_Energy(mWh)") - f64("Discharge_Energy(mWh)")) * 1e-3
        src["energy_Wh"] = "Charge_Energy(mWh) - Discharge_Energy(mWh)"
    if "Timestamp" in df.columns:
        ts = df["Timestamp"].iloc[0]
        meta["start_time"] = ts.isoformat() if hasattr(ts, "isoformat") else str(ts)
    else:
        meta["start_time"] = None
    if "Status" in df.columns:
        meta["step_types"] = sorted(str(s) for s in df["Status"].astype(str).unique())
    meta["source_columns"] = src
    meta["all_source_columns"] = [str(c) for c in df.columns]
    out = ParsedData(
        format="neware-ndax" if is_zip else "neware-nda",
        technique="CYCLING",
        columns=cols,
        metadata=meta,
    )
    return validate(out, source=source, required=("time_s", "voltage_V", "current_A"))
