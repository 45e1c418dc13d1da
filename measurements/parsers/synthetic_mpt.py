"""Write synthetic BioLogic EC-Lab ASCII (``.mpt``) files from canonical SI arrays.

Used by the demo data and by the benchmark: the files look like EC-Lab exports (``EC-Lab ASCII
FILE`` header with ``Nb header lines``, the technique name on line 4, settings lines in
Windows-1252, tab-separated data with BioLogic column names and units) and are read back by
:func:`measurements.parsers.parse_file` into the same canonical arrays (round trip).

Example::

    write_mpt(path, "GCPL", {"time_s": t, "voltage_V": v, "current_A": i, "cycle": c})
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from ._base import CANONICAL_COLUMNS, EIS_TECHNIQUES, INTEGER_COLUMNS
from .biologic import TECHNIQUE_NAMES

TECHNIQUE_TITLES: dict[str, str] = {
    "PEIS": "Potentio Electrochemical Impedance Spectroscopy",
    "GEIS": "Galvano Electrochemical Impedance Spectroscopy",
    "CA": "Chronoamperometry / Chronocoulometry",
    "CP": "Chronopotentiometry",
    "LSV": "Linear Sweep Voltammetry",
    "CV": "Cyclic Voltammetry",
    "GCPL": "Galvanostatic Cycling with Potential Limitation",
    "OCV": "Open Circuit Voltage",
    "MB": "Modulo Bat",
}
assert all(TECHNIQUE_NAMES[t.lower()] == k for k, t in TECHNIQUE_TITLES.items())

# canonical -> (BioLogic column, factor from SI to the BioLogic unit)
_COLUMN_OUT: dict[str, tuple[str, float]] = {
    "freq_Hz": ("freq/Hz", 1.0),
    "z_re_ohm": ("Re(Z)/Ohm", 1.0),
    "z_im_ohm": ("-Im(Z)/Ohm", -1.0),
    "step": ("Ns", 1.0),
    "time_s": ("time/s", 1.0),
    "voltage_V": ("Ewe/V", 1.0),
    "current_A": ("<I>/mA", 1e3),
    "charge_Ah": ("(Q-Qo)/mA.h", 1e3),
    "half_cycle": ("half cycle", 1.0),
    "temperature_C": ("Temperature/°C", 1.0),
    "cycle": ("cycle number", 1.0),
}
_EIS_VOLTAGE = ("<Ewe>/V", 1.0)


def _header(technique: str, n_header: int, start: datetime, extra: Mapping[str, str]) -> list[str]:
    lines = [
        "EC-Lab ASCII FILE",
        f"Nb header lines : {n_header:<3d}",
        "",
        TECHNIQUE_TITLES[technique],
        "",
        "Run on channel : 1 (SN 0001)",
        "User : synthetic",
        "Ewe ctrl range : min = -10.00 V, max = 10.00 V",
        "Electrode connection : standard",
        "Potential control : Ewe",
        "Safety Limits :",
        "Channel : Floating",
        f"Acquisition started on : {start.strftime('%m/%d/%Y %H:%M:%S.%f')[:-3]}",
        "Saved on :",
        "File : synthetic.mpr",
        "Device : VMP3 (synthetic)",
        "Electrode material : ",
        "Electrolyte : ",
        "Electrode surface area : 1.131 cm²",
        "Characteristic mass : 0.001 g",
        "Cycle Definition : Charge/Discharge alternance",
    ]
    lines += [f"{k} : {v}" for k, v in extra.items()]
    return lines


def write_mpt(
    path: str | Path,
    technique: str,
    columns: Mapping[str, npt.ArrayLike],
    *,
    start_time: datetime | None = None,
    decimal: str = ".",
    extra_header: Mapping[str, str] | None = None,
    chunk_rows: int = 200_000,
) -> Path:
    """Write ``columns`` (canonical names, SI units, same length) as an EC-Lab ``.mpt`` file.

    ``technique`` is one of GCPL, PEIS, GEIS, CA, CP, LSV, CV, OCV, MB. Needed columns:
    ``time_s`` always; ``voltage_V`` (and ``current_A`` except for OCV) for non-impedance
    techniques; ``freq_Hz``, ``z_re_ohm``, ``z_im_ohm`` (true Im(Z), written as ``-Im(Z)/Ohm``)
    for PEIS/GEIS. Capacities ``capacity_charge_Ah``/``capacity_discharge_Ah`` are written as
    EC-Lab's signed ``Q charge/discharge/mA.h``. ``decimal=","`` writes a decimal-comma file.
    Numbers are written with the shortest exact representation, so reading the file back
    gives the very same float64 values. Raises ValueError for bad input.
    """
    technique = technique.upper()
    if technique not in TECHNIQUE_TITLES:
        raise ValueError(f"technique must be one of {sorted(TECHNIQUE_TITLES)}, not {technique!r}")
    if decimal not in (".", ","):
        raise ValueError("decimal must be '.' or ','")
    unknown = [c for c in columns if c not in CANONICAL_COLUMNS]
    if unknown:
        raise ValueError(f"unknown canonical columns {unknown}")
    arrays = {k: np.asarray(v) for k, v in columns.items()}
    lengths = {len(v) for v in arrays.values()}
    if len(lengths) != 1:
        raise ValueError(f"all columns must have the same length, got {lengths}")
    n = lengths.pop()
    need = ["time_s"]
    if technique in EIS_TECHNIQUES:
        need += ["freq_Hz", "z_re_ohm", "z_im_ohm"]
    else:
        need += ["voltage_V"] + ([] if technique == "OCV" else ["current_A"])
    missing = [c for c in need if c not in arrays]
    if missing:
        raise ValueError(f"{technique} needs the columns {missing}")

    out: dict[str, npt.NDArray[np.generic]] = {}
    if technique not in EIS_TECHNIQUES:
        cur = arrays.get("current_A", np.zeros(n))
        out["mode"] = np.where(cur != 0, 1, 3).astype(np.int64)
        out["ox/red"] = (cur > 0).astype(np.int64)
        out["error"] = np.zeros(n, dtype=np.int64)
        out["control changes"] = np.zeros(n, dtype=np.int64)
        step = arrays.get("step")
        ns_changes = np.zeros(n, dtype=np.int64)
        if step is not None and n > 1:
            ns_changes[1:] = (np.diff(step) != 0).astype(np.int64)
        out["Ns changes"] = ns_changes
        out["counter inc."] = np.zeros(n, dtype=np.int64)
    for canon, (name, factor) in _COLUMN_OUT.items():
        if canon not in arrays:
            continue
        if canon == "voltage_V" and technique in EIS_TECHNIQUES:
            name, factor = _EIS_VOLTAGE
        a = arrays[canon]
        if canon in INTEGER_COLUMNS:
            out[name] = np.asarray(a).astype(np.int64)
        else:
            v = np.asarray(a, dtype=np.float64)
            out[name] = v * factor if factor != 1.0 else v
        if canon == "time_s" and technique == "GCPL" and "current_A" in arrays:
            out["control/V/mA"] = np.asarray(arrays["current_A"], dtype=np.float64) * 1e3
        if canon == "time_s" and technique in ("CA", "LSV", "CV") and "voltage_V" in arrays:
            out["control/V"] = np.asarray(arrays["voltage_V"], dtype=np.float64)
    if "capacity_charge_Ah" in arrays or "capacity_discharge_Ah" in arrays:
        qc = np.asarray(arrays.get("capacity_charge_Ah", np.zeros(n)), dtype=np.float64)
        qd = np.asarray(arrays.get("capacity_discharge_Ah", np.zeros(n)), dtype=np.float64)
        out["Q charge/discharge/mA.h"] = (qc - qd) * 1e3
    if "energy_Wh" in arrays:
        out["|Energy|/W.h"] = np.asarray(arrays["energy_Wh"], dtype=np.float64)

    names = list(out)
    header_lines = _header(technique, 0, start_time or datetime(2024, 1, 1, 9, 0), extra_header or {})
    n_header = len(header_lines) + 1
    header_lines[1] = f"Nb header lines : {n_header:<3d}"
    header = "\n".join(header_lines) + "\n" + "\t".join(names) + "\t\n"
    p = Path(path)
    table = pa.table(out)
    opts = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    with p.open("wb") as fh:
        fh.write(header.encode("cp1252"))
        for start in range(0, n, chunk_rows):
            buf = io.BytesIO()
            pacsv.write_csv(table.slice(start, chunk_rows), buf, write_options=opts)
            data = buf.getvalue()
            if decimal == ",":
                data = data.replace(b".", b",")
            fh.write(data)
    return p
