"""Tests of measurements.parsers on the real instrument files of ../shared/echem_data.

Pure pytest: no Django, no database. Run with
``python -m pytest -p no:django -q measurements/tests/test_parsers.py``.
"""

from __future__ import annotations

import json
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from measurements.parsers import (
    CANONICAL_COLUMNS,
    ColumnMapping,
    ParsedData,
    ParseError,
    ZipLimits,
    detect_format,
    parse_file,
    unit_factor,
)

PAIRS = [
    "yadg_ca",
    "yadg_cp",
    "yadg_cv",
    "yadg_ocv",
    "yadg_peis",
    "yadg_lsv",
    "yadg_ca.issue_149",
    "yadg_gcpl.issue_149",
    "yadg_geis.issue_149",
    "yadg_mb.issue_149",
    "yadg_gcpl.pr_182.1",
]
PAIR_ROWS = {
    "yadg_ca": 721,
    "yadg_cp": 121,
    "yadg_cv": 5103,
    "yadg_ocv": 602,
    "yadg_peis": 32,
    "yadg_lsv": 1186,
    "yadg_ca.issue_149": 80,
    "yadg_gcpl.issue_149": 132,
    "yadg_geis.issue_149": 84,
    "yadg_mb.issue_149": 564,
    "yadg_gcpl.pr_182.1": 2533,
}
PAIR_TECHNIQUE = {
    "yadg_ca": "CA",
    "yadg_cp": "CP",
    "yadg_cv": "CV",
    "yadg_ocv": "OCV",
    "yadg_peis": "PEIS",
    "yadg_lsv": "LSV",
    "yadg_ca.issue_149": "CA",
    "yadg_gcpl.issue_149": "GCPL",
    "yadg_geis.issue_149": "GEIS",
    "yadg_mb.issue_149": "MB",
    "yadg_gcpl.pr_182.1": "GCPL",
}

# every real file that must parse, with its expected format
GOOD_FILES = {
    "biologic/cellpy_biol.mpr": "biologic-mpr",
    "biologic/datalab_gcpl_5cycles_C09.mpr": "biologic-mpr",
    "eis/impedancepy_exampleDataBioLogic.mpt": "biologic-mpt",
    "eis/impedancepy_exampleDataGamry.DTA": "gamry-dta",
    "eis/impedancepy_exampleData.csv": "impedance-csv",
    "eis/impedancepy_exampleDataZPlot.z": "zplot-z",
    "neware/newarenda_TestFile.nda": "neware-nda",
    "neware/newarenda_new_nda_file.nda": "neware-nda",
    "neware/newarenda_Unit27_Example.ndax": "neware-ndax",
    "neware/navani_test.ndax": "neware-ndax",
    "more_formats/gamryparser_chronoa_data.dta": "gamry-dta",
    "more_formats/gamryparser_cv_data.dta": "gamry-dta",
    "more_formats/gamryparser_eispot_data.dta": "gamry-dta",
    "more_formats/gamryparser_ocp_data.dta": "gamry-dta",
    "bdf/datalab_arbin_example.bdf.csv": "bdf-csv",
    "more_formats/beep_FastCharge_000025_CH8.csv": "arbin-csv",
    "more_formats/navani_arbin_Channel_11.xlsx": "xlsx",
    "more_formats/beep_PredictionDiagnostics_000151_test.052": "maccor-raw",
    "more_formats/beep_test_Nova_Form-CH01-01_short.csv": "novonix-csv",
    "more_formats/beep_test_loopsnewoutput_MB_CE1_short10k.csv": "eclab-csv",
    **{f"biologic_pairs/{p}.mpt": "biologic-mpt" for p in PAIRS},
    **{f"biologic_pairs/{p}.mpr": "biologic-mpr" for p in PAIRS},
}


@pytest.fixture(scope="session")
def ref(echem_dir: Path) -> dict[str, Any]:
    return json.loads((echem_dir / "reference_values.json").read_text())


def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return bool(np.isclose(a, b, rtol=rel, atol=1e-12))


def _check_stats(arr: np.ndarray, stats: dict[str, float], factor: float = 1.0) -> None:
    for key, fn in (("first", lambda x: x[0]), ("last", lambda x: x[-1]), ("min", np.min), ("max", np.max)):
        if key in stats:
            assert _close(float(fn(arr)), stats[key] * factor), (key, float(fn(arr)), stats[key] * factor)


def _assert_invariants(d: ParsedData) -> None:
    assert d.n_rows > 0
    assert set(d.columns) <= set(CANONICAL_COLUMNS)
    assert {len(v) for v in d.columns.values()} == {d.n_rows}
    if "time_s" in d.columns:
        assert np.all(np.isfinite(d.columns["time_s"]))
        assert np.all(np.diff(d.columns["time_s"]) >= 0)
    for c in ("cycle", "half_cycle", "step"):
        if c in d.columns:
            assert d.columns[c].dtype == np.int64
    json.dumps(d.metadata)  # JSON-serialisable


# ----------------------------------------------------------------------------- all real files


@pytest.mark.parametrize("rel", sorted(GOOD_FILES))
def test_real_file_parses_with_invariants(echem_dir: Path, rel: str) -> None:
    d = parse_file(echem_dir / rel)
    assert d.format == GOOD_FILES[rel] or (GOOD_FILES[rel] == "xlsx" and d.format.endswith("-xlsx"))
    _assert_invariants(d)
    head = (echem_dir / rel).read_bytes()[:65536]
    assert detect_format(head, Path(rel).name) == GOOD_FILES[rel]


@pytest.mark.parametrize("rel", sorted(GOOD_FILES))
def test_detection_ignores_a_wrong_extension(echem_dir: Path, tmp_path: Path, rel: str) -> None:
    wrong = tmp_path / "renamed.xyz"
    shutil.copy(echem_dir / rel, wrong)
    head = wrong.read_bytes()[:65536]
    assert detect_format(head, "renamed.xyz") == GOOD_FILES[rel]
    assert detect_format(head, None) == GOOD_FILES[rel]
    a = parse_file(echem_dir / rel)
    b = parse_file(wrong)
    assert a.format == b.format and a.technique == b.technique and a.n_rows == b.n_rows
    for c in a.columns:
        np.testing.assert_array_equal(a.columns[c], b.columns[c])


def test_detection_mpt_saved_as_csv(echem_dir: Path, tmp_path: Path) -> None:
    p = tmp_path / "export.csv"
    shutil.copy(echem_dir / "biologic_pairs/yadg_peis.mpt", p)
    assert parse_file(p).format == "biologic-mpt"
    p2 = tmp_path / "data.mpt"  # a Gamry file with a BioLogic extension is still Gamry
    shutil.copy(echem_dir / "eis/impedancepy_exampleDataGamry.DTA", p2)
    assert parse_file(p2).format == "gamry-dta"


# ----------------------------------------------------------------------------- BioLogic


@pytest.mark.parametrize("pair", PAIRS)
def test_biologic_pair_mpr_and_mpt_give_the_same_arrays(echem_dir: Path, pair: str) -> None:
    mpr = parse_file(echem_dir / f"biologic_pairs/{pair}.mpr")
    mpt = parse_file(echem_dir / f"biologic_pairs/{pair}.mpt")
    assert mpr.n_rows == mpt.n_rows == PAIR_ROWS[pair]
    assert sorted(mpr.columns) == sorted(mpt.columns)
    assert mpr.technique == mpt.technique == PAIR_TECHNIQUE[pair]
    if mpt.metadata["start_time"] is not None:  # the short 3-line header has no date
        assert mpr.metadata["start_time"][:10] == mpt.metadata["start_time"][:10]
    for c in mpr.columns:
        a, b = mpr.columns[c], mpt.columns[c]
        scale = max(float(np.max(np.abs(b))), 1e-30)
        # .mpr stores float32 for most columns; .mpt prints them with 8 significant digits
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=scale * 1e-7, err_msg=f"{pair}: {c}")


@pytest.mark.parametrize("pair", PAIRS)
def test_biologic_mpr_matches_galvani(echem_dir: Path, pair: str) -> None:
    from galvani import BioLogic

    raw = BioLogic.MPRfile(str(echem_dir / f"biologic_pairs/{pair}.mpr")).data
    d = parse_file(echem_dir / f"biologic_pairs/{pair}.mpr")
    np.testing.assert_array_equal(d.columns["time_s"], raw["time/s"].astype(np.float64))
    vname = "Ewe/V" if "Ewe/V" in raw.dtype.names else "<Ewe>/V"
    np.testing.assert_array_equal(d.columns["voltage_V"], raw[vname].astype(np.float64))
    if "-Im(Z)/Ohm" in raw.dtype.names:
        np.testing.assert_array_equal(d.columns["z_im_ohm"], -raw["-Im(Z)/Ohm"].astype(np.float64))


@pytest.mark.parametrize(
    "pair", ["yadg_gcpl.issue_149", "yadg_gcpl.pr_182.1", "yadg_ca", "yadg_mb.issue_149"]
)
def test_biologic_derived_columns_equal_ec_lab_export(echem_dir: Path, pair: str) -> None:
    """The .mpt's own 'cycle number', 'Q charge/mA.h', 'Q discharge/mA.h' equal what we derive."""
    import pandas as pd

    p = echem_dir / f"biologic_pairs/{pair}.mpt"
    d = parse_file(p)
    n = d.metadata["header_lines"]
    raw = pd.read_csv(p, sep="\t", skiprows=n - 1, encoding="cp1252", decimal=d.metadata["decimal"])
    np.testing.assert_array_equal(d.columns["cycle"], raw["cycle number"].to_numpy().astype(int))
    np.testing.assert_array_equal(d.columns["cycle"], d.columns["half_cycle"] // 2)
    np.testing.assert_allclose(d.columns["capacity_charge_Ah"], raw["Q charge/mA.h"] * 1e-3, rtol=1e-9)
    np.testing.assert_allclose(d.columns["capacity_discharge_Ah"], raw["Q discharge/mA.h"] * 1e-3, rtol=1e-9)


@pytest.mark.parametrize("rel", ["biologic/cellpy_biol.mpr", "biologic/datalab_gcpl_5cycles_C09.mpr"])
def test_biologic_mpr_reference_values(echem_dir: Path, ref: dict[str, Any], rel: str) -> None:
    r = ref[rel]
    d = parse_file(echem_dir / rel)
    assert d.n_rows == r["rows"]
    assert d.metadata["all_source_columns"] == r["columns"]
    _check_stats(d.columns["time_s"], r["time/s"])
    _check_stats(d.columns["voltage_V"], r["Ewe/V"])
    _check_stats(d.columns["charge_Ah"], r["(Q-Qo)/mA.h"], 1e-3)
    qcd = d.columns["capacity_charge_Ah"] - d.columns["capacity_discharge_Ah"]
    _check_stats(qcd, r["Q charge/discharge/mA.h"], 1e-3)
    if "I/mA" in r:
        _check_stats(d.columns["current_A"], r["I/mA"], 1e-3)
    else:  # GCPL .mpr without a current column: derived from dq/dt
        assert d.metadata["source_columns"]["current_A"].startswith("derived")
        ctl = r["control/V/mA"]
        assert abs(np.max(d.columns["current_A"]) - ctl["max"] * 1e-3) < 0.02 * ctl["max"] * 1e-3
        assert abs(np.min(d.columns["current_A"]) - ctl["min"] * 1e-3) < 0.02 * abs(ctl["min"]) * 1e-3


def test_biologic_eis_mpt_reference(echem_dir: Path, ref: dict[str, Any]) -> None:
    r = ref["eis/impedancepy_exampleDataBioLogic.mpt"]
    d = parse_file(echem_dir / "eis/impedancepy_exampleDataBioLogic.mpt")
    assert d.technique == "PEIS" and d.n_rows == r["points"]
    assert _close(d.columns["freq_Hz"][0], r["f_first"])
    assert _close(d.columns["freq_Hz"][-1], r["f_last"])
    assert _close(d.columns["z_re_ohm"][0], r["Zre_first"])
    assert _close(d.columns["z_im_ohm"][0], r["Zim_first"])  # true Im(Z): negated -Im(Z)
    assert d.metadata["encoding"] == "windows-1252"
    assert "Cs/µF" in d.metadata["all_source_columns"]


def test_biologic_decimal_comma_and_short_header(echem_dir: Path) -> None:
    d = parse_file(echem_dir / "biologic_pairs/yadg_gcpl.issue_149.mpt")
    assert d.metadata["decimal"] == ","
    assert _close(d.columns["time_s"][0], 30.15299923827115)
    assert _close(d.columns["voltage_V"][0], 3.4228721)
    s = parse_file(echem_dir / "biologic_pairs/yadg_gcpl.pr_182.1.mpt")
    assert s.metadata["header_lines"] == 3
    assert s.metadata["technique_source"] == "columns" and s.technique == "GCPL"


def test_biologic_mpr_unknown_column_is_a_clear_error(echem_dir: Path) -> None:
    with pytest.raises(ParseError, match=r"yadg_lsv.issue_195.mpr: .*galvani.*185.*\.mpt"):
        parse_file(echem_dir / "biologic_pairs/yadg_lsv.issue_195.mpr")
    d = parse_file(echem_dir / "biologic_pairs/yadg_lsv.issue_195.mpt")  # the export works
    assert d.technique == "LSV" and d.n_rows == 999


def test_mpt_without_frequency_column_is_rejected(echem_dir: Path) -> None:
    with pytest.raises(ParseError, match=r"PEIS file has no 'freq/Hz' column.*line 61"):
        parse_file(echem_dir / "bad/impedancepy_exampleDataBioLogic_MissingFreq.mpt")


def test_mpt_truncated_last_row(echem_dir: Path, tmp_path: Path) -> None:
    raw = (echem_dir / "biologic_pairs/yadg_cv.mpt").read_bytes()
    p = tmp_path / "cut.mpt"
    p.write_bytes(raw[: len(raw) - 40])
    with pytest.raises(ParseError, match="truncated"):
        parse_file(p)
    p.write_bytes(raw[:500])  # cut inside the header
    with pytest.raises(ParseError, match="header declares 58 lines"):
        parse_file(p)


def test_mpt_non_numeric_value_names_line_and_column(echem_dir: Path, tmp_path: Path) -> None:
    lines = (echem_dir / "biologic_pairs/yadg_ocv.mpt").read_bytes().split(b"\n")
    lines[60] = lines[60].replace(b"E-001", b"E-0x1", 1)
    p = tmp_path / "bad.mpt"
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(ParseError, match=r"line 61, column \d+ '(Ewe/V|time/s)'"):
        parse_file(p)


def test_mpt_nan_in_key_column(echem_dir: Path, tmp_path: Path) -> None:
    lines = (echem_dir / "biologic_pairs/yadg_ocv.mpt").read_bytes().split(b"\n")
    f = lines[70].split(b"\t")
    f[3] = b"NaN"
    lines[70] = b"\t".join(f)
    p = tmp_path / "nan.mpt"
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(ParseError, match=r"line 71 .*voltage_V.*Ewe/V.*non-finite"):
        parse_file(p)


def test_mpt_time_going_backwards(echem_dir: Path, tmp_path: Path) -> None:
    lines = (echem_dir / "biologic_pairs/yadg_ocv.mpt").read_bytes().split(b"\n")
    f = lines[80].split(b"\t")
    f[2] = b"0.0"
    lines[80] = b"\t".join(f)
    p = tmp_path / "back.mpt"
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(ParseError, match=r"line 81 .*time goes backwards"):
        parse_file(p)


def test_mpr_truncated(echem_dir: Path, tmp_path: Path) -> None:
    raw = (echem_dir / "biologic_pairs/yadg_cv.mpr").read_bytes()
    p = tmp_path / "cut.mpr"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ParseError, match="cut.mpr"):
        parse_file(p)


# ----------------------------------------------------------------------------- Neware


NEWARE_REF = [
    "neware/newarenda_TestFile.nda",
    "neware/newarenda_Unit27_Example.ndax",
    "neware/newarenda_new_nda_file.nda",
]


@pytest.mark.parametrize("rel", [*NEWARE_REF, "neware/cellpy_IFE_BTS85_2_9_8_1.ndax"])
def test_neware_reference_values(echem_dir: Path, ref: dict[str, Any], rel: str) -> None:
    r = ref[rel]
    d = parse_file(echem_dir / rel)
    assert d.n_rows == r["rows"]
    assert d.metadata["all_source_columns"] == r["columns"]
    _check_stats(d.columns["voltage_V"], r["Voltage"])
    _check_stats(d.columns["current_A"], r["Current(mA)"], 1e-3)
    _check_stats(d.columns["cycle"].astype(float), r["Cycle"])
    _check_stats(d.columns["capacity_charge_Ah"], r["Charge_Capacity(mAh)"], 1e-3)
    _check_stats(d.columns["capacity_discharge_Ah"], r["Discharge_Capacity(mAh)"], 1e-3)
    assert d.columns["cycle"][0] == 1


@pytest.mark.parametrize("rel", NEWARE_REF)
def test_neware_against_reference_feather(echem_dir: Path, rel: str) -> None:
    import pyarrow.feather as pf

    ftr = pf.read_table(echem_dir / (rel.rsplit(".", 1)[0] + ".reference.ftr")).to_pandas()
    # The Unit27 reference (older NewareNDA) holds an extra record repeating Index 1; NewareNDA
    # 2026.6.11 (and reference_values.json) give 301 rows: compare one row per Index.
    ftr = ftr.drop_duplicates("Index", keep="first").reset_index(drop=True)
    d = parse_file(echem_dir / rel)
    assert d.n_rows == len(ftr)
    np.testing.assert_allclose(d.columns["voltage_V"], ftr["Voltage"].to_numpy(float), rtol=1e-6)
    np.testing.assert_allclose(d.columns["current_A"], ftr["Current(mA)"].to_numpy(float) * 1e-3, rtol=1e-6)
    np.testing.assert_array_equal(d.columns["cycle"], ftr["Cycle"].to_numpy(int))
    np.testing.assert_array_equal(d.columns["step"], ftr["Step"].to_numpy(int))
    np.testing.assert_allclose(
        d.columns["capacity_charge_Ah"], ftr["Charge_Capacity(mAh)"].to_numpy(float) * 1e-3, rtol=1e-6
    )
    if "T1" in ftr:
        np.testing.assert_allclose(d.columns["temperature_C"], ftr["T1"].to_numpy(float), rtol=1e-6)


@pytest.mark.parametrize(
    "rel",
    ["neware/navani_test.ndax", "neware/newarenda_new_nda_file.nda", "neware/cellpy_IFE_BTS85_2_9_8_1.ndax"],
)
def test_neware_matches_newarenda_and_time_is_cumulative(echem_dir: Path, rel: str) -> None:
    import NewareNDA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NewareNDA's own pandas deprecation warnings
        df = NewareNDA.read(str(echem_dir / rel), log_level="WARNING")
    d = parse_file(echem_dir / rel)
    assert d.n_rows == len(df)
    np.testing.assert_array_equal(d.columns["voltage_V"], df["Voltage"].to_numpy(float))
    step_time = df["Time"].to_numpy(float)
    assert np.any(np.diff(step_time) < 0)  # Neware's Time restarts per step in these files ...
    assert np.all(np.diff(d.columns["time_s"]) >= 0)  # ... ours is a running test time
    # within one step the running time advances exactly like the step time
    same = np.diff(df["Step"].to_numpy()) == 0
    np.testing.assert_allclose(np.diff(d.columns["time_s"])[same], np.diff(step_time)[same], atol=1e-6)
    # total duration equals the sum of step durations
    total = sum(g["Time"].max() for _, g in df.groupby("Step"))
    assert _close(d.columns["time_s"][-1], total, rel=1e-6)


def test_navani_ndax(echem_dir: Path) -> None:
    d = parse_file(echem_dir / "neware/navani_test.ndax")
    assert d.n_rows == 1464 and d.format == "neware-ndax"
    assert d.metadata["start_time"].startswith("2024-02-01")
    assert "CCCV_Chg" in d.metadata["step_types"]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_ndax_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "bomb.ndax", {"Step.xml": b"<x/>", "data.ndc": b"\0" * 50_000_000})
    assert detect_format(bomb.read_bytes()[:65536]) == "neware-ndax"
    with pytest.raises(ParseError, match="zip bomb"):
        parse_file(bomb)


def test_ndax_size_limit_is_configurable(echem_dir: Path) -> None:
    rel = echem_dir / "neware/navani_test.ndax"
    with pytest.raises(ParseError, match="would expand to"):
        parse_file(rel, zip_limits=ZipLimits(max_total_bytes=100_000))
    assert parse_file(rel, zip_limits=ZipLimits(max_total_bytes=200_000)).n_rows == 1464


def test_ndax_without_neware_data(tmp_path: Path) -> None:
    p = _zip(tmp_path / "x.ndax", {"Step.xml": b"<x/>", "notes.txt": b"hello"})
    with pytest.raises(ParseError, match="no .ndc member"):
        parse_file(p)
    other = _zip(tmp_path / "x.zip", {"readme.txt": b"hello"})
    with pytest.raises(ParseError, match="not a recognised instrument file"):
        parse_file(other)


def test_nda_truncated(echem_dir: Path, tmp_path: Path) -> None:
    """A .nda cut before its first record is a ParseError. A .nda cut mid-way gives the complete
    records before the cut: NewareNDA reads record by record and cannot tell (documented
    limitation), so the result must at least be an exact prefix of the full file."""
    raw = (echem_dir / "neware/newarenda_new_nda_file.nda").read_bytes()
    p = tmp_path / "cut.nda"
    p.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ParseError, match="cut.nda: cannot decode this Neware .nda file"):
        parse_file(p)
    full = parse_file(echem_dir / "neware/newarenda_TestFile.nda")
    raw = (echem_dir / "neware/newarenda_TestFile.nda").read_bytes()
    p.write_bytes(raw[: int(len(raw) * 0.6)])
    part = parse_file(p)
    assert 0 < part.n_rows < full.n_rows
    for c in ("time_s", "voltage_V", "current_A", "cycle"):
        np.testing.assert_array_equal(part.columns[c], full.columns[c][: part.n_rows])


# ----------------------------------------------------------------------------- EIS formats


def test_gamry_eis_reference(echem_dir: Path, ref: dict[str, Any]) -> None:
    r = ref["eis/impedancepy_exampleDataGamry.DTA"]
    d = parse_file(echem_dir / "eis/impedancepy_exampleDataGamry.DTA")
    assert d.technique == "PEIS" and d.n_rows == r["points"]
    assert _close(d.columns["freq_Hz"][0], r["f_first"])
    assert _close(d.columns["freq_Hz"][-1], r["f_last"])
    assert _close(d.columns["z_re_ohm"][0], r["Zre_first"])
    assert _close(d.columns["z_im_ohm"][0], r["Zim_first"])
    assert d.metadata["tables"]["OCVCURVE"] == 387
    assert d.metadata["start_time"] == "2018-04-23T16:43:15"


@pytest.mark.parametrize(
    ("name", "technique", "rows"),
    [("chronoa", "CA", 10), ("cv", "CV", 50), ("eispot", "PEIS", 6), ("ocp", "OCV", 21)],
)
def test_gamryparser_files(echem_dir: Path, name: str, technique: str, rows: int) -> None:
    d = parse_file(echem_dir / f"more_formats/gamryparser_{name}_data.dta")
    assert d.technique == technique and d.n_rows == rows
    if name == "cv":
        assert list(np.unique(d.columns["cycle"])) == [1, 2, 3, 4, 5]
        assert _close(d.columns["current_A"][0], 7.80498e-9)
    if name == "eispot":
        assert _close(d.columns["z_im_ohm"][0], -3.767681)
        assert d.metadata["ignored_lines"]  # the 4 malformed lines after the table are reported
    if name == "ocp":
        assert "temperature_C" in d.columns


def test_impedance_csv(echem_dir: Path) -> None:
    d = parse_file(echem_dir / "eis/impedancepy_exampleData.csv")
    assert d.format == "impedance-csv" and d.technique == "EIS"
    assert d.n_rows == 66
    assert int(np.sum(d.columns["z_im_ohm"] < 0)) == 57  # Im(Z) kept as given (true Im)
    assert _close(d.columns["freq_Hz"][0], 3.1623e-3)
    assert _close(d.columns["z_im_ohm"][0], -2.043869854441892481e-02)


def test_zplot_declared_vs_actual_points(echem_dir: Path) -> None:
    d = parse_file(echem_dir / "eis/impedancepy_exampleDataZPlot.z")
    assert d.n_rows == 21
    assert d.metadata["declared_points"] == 56 and d.metadata["truncated"] is True
    assert "56" in d.metadata["warnings"][0]
    assert _close(d.columns["freq_Hz"][0], 3.0e5)
    assert _close(d.columns["z_im_ohm"][0], -11.335)
    assert np.all(d.columns["z_im_ohm"] < 0)


# ----------------------------------------------------------------------------- CSV formats


CUSTOM_MAPPING = {
    "time_s": ("test_time", "s"),
    "voltage_V": ("voltage", "V"),
    "current_A": ("current", "mA"),
    "cycle": ("cycle", ""),
    "step": ("step", ""),
    "capacity_charge_Ah": ("charge_capacity", "mAh"),
    "capacity_discharge_Ah": ("discharge_Capacity", "mAh"),
}


def test_generic_csv_with_mapping(echem_dir: Path) -> None:
    import pandas as pd

    p = echem_dir / "generic_csv/cellpy_custom_data_001.csv"
    d = parse_file(p, mapping=ColumnMapping(columns=CUSTOM_MAPPING))
    raw = pd.read_csv(p, sep=";", skiprows=19).dropna(how="all")
    assert d.format == "generic-csv" and d.technique == "CYCLING"
    assert d.n_rows == len(raw) == 2442
    np.testing.assert_allclose(d.columns["time_s"], raw["test_time"])
    np.testing.assert_allclose(d.columns["current_A"], raw["current"] * 1e-3)
    np.testing.assert_allclose(d.columns["capacity_charge_Ah"], raw["charge_capacity"] * 1e-3)
    np.testing.assert_array_equal(d.columns["cycle"], raw["cycle"].astype(int))
    assert d.metadata["header_line"] == 20
    assert d.metadata["preamble"]["operator"] == "Jan Petter Maehlen"
    # hours and minutes are converted to seconds
    h = parse_file(p, mapping=ColumnMapping(columns={**CUSTOM_MAPPING, "time_s": ("test_time", "h")}))
    np.testing.assert_allclose(h.columns["time_s"], raw["test_time"] * 3600)


def test_generic_csv_without_mapping_asks_for_one(echem_dir: Path) -> None:
    with pytest.raises(ParseError, match="ColumnMapping"):
        parse_file(echem_dir / "generic_csv/cellpy_custom_data_001.csv")


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("missing_column", r"column 'voltage' \(for voltage_V\) not found in the header on line 20"),
        ("missing_cycle", r"line 41 .*cycle number jumps from 1 to 3 \(cycle\(s\) 2..2 missing\)"),
        ("nan_inf", r"line 24 .*'voltage_V' \(source column 'voltage'\) has a missing or non-finite"),
        ("truncated", r"line 80 has 5 of the 10 fields.*truncated"),
    ],
)
def test_bad_csv_files_are_rejected_with_a_reason(echem_dir: Path, name: str, pattern: str) -> None:
    with pytest.raises(ParseError, match=pattern):
        parse_file(echem_dir / f"bad/cellpy_custom_{name}.csv", mapping=ColumnMapping(columns=CUSTOM_MAPPING))


def test_nan_inf_file_reports_inf_too(echem_dir: Path, tmp_path: Path) -> None:
    # drop the empty value: the next problem (inf on line 28) must be reported
    text = (echem_dir / "bad/cellpy_custom_nan_inf.csv").read_text()
    p = tmp_path / "inf.csv"
    p.write_text(
        text.replace(
            "3;480.00;480.00;43374.42;1;1;0.00;;0.00;0.00", "3;480.00;480.00;43374.42;1;1;0.00;1.14;0.00;0.00"
        )
    )
    with pytest.raises(ParseError, match=r"line 28 .*voltage_V.*inf"):
        parse_file(p, mapping=ColumnMapping(columns=CUSTOM_MAPPING))


def test_bdf_csv(echem_dir: Path) -> None:
    import pandas as pd

    p = echem_dir / "bdf/datalab_arbin_example.bdf.csv"
    d = parse_file(p)
    raw = pd.read_csv(p)
    assert d.format == "bdf-csv" and d.n_rows == len(raw) == 2150
    np.testing.assert_allclose(d.columns["time_s"], raw["Test Time / s"])
    np.testing.assert_allclose(d.columns["voltage_V"], raw["Voltage / V"])
    np.testing.assert_allclose(d.columns["current_A"], raw["Current / A"])
    assert d.metadata["source_columns"]["cycle"] == "Cycle Count / 1"


# ----------------------------------------------------------------------------- units & mapping


def test_unit_table() -> None:
    assert unit_factor("current_A", "mA") == (1e-3, 0.0)
    assert unit_factor("charge_Ah", "mA.h") == (1e-3, 0.0)
    assert unit_factor("charge_Ah", "mAh") == (1e-3, 0.0)
    assert unit_factor("time_s", "h") == (3600.0, 0.0)
    assert unit_factor("time_s", "min") == (60.0, 0.0)
    assert unit_factor("current_A", "µA") == (1e-6, 0.0)
    assert unit_factor("z_re_ohm", "kΩ") == (1e3, 0.0)
    assert unit_factor("temperature_C", "K") == (1.0, -273.15)
    assert unit_factor("temperature_C", "°C") == (1.0, 0.0)
    assert unit_factor("cycle", "") == (1.0, 0.0)


@pytest.mark.parametrize(
    ("col", "unit", "pattern"),
    [
        (
            "current_A",
            "mV",
            r"'mV' is not valid for column current_A \(a current\) \('mV' is a voltage unit\)",
        ),
        ("time_s", "mAh", "a charge unit"),
        ("voltage_V", "furlong", "expected one of: V, mV"),
        ("cycle", "s", "dimensionless"),
    ],
)
def test_wrong_unit_dimension_is_rejected(col: str, unit: str, pattern: str) -> None:
    with pytest.raises(ParseError, match=pattern):
        ColumnMapping(columns={col: ("x", unit)})


def test_mapping_validation() -> None:
    with pytest.raises(ParseError, match="not a canonical column"):
        ColumnMapping(columns={"volts": ("v", "V")})
    with pytest.raises(ParseError, match="empty"):
        ColumnMapping(columns={})
    with pytest.raises(ParseError, match="decimal"):
        ColumnMapping(columns={"time_s": ("t", "s")}, decimal=";")


def test_mapping_decimal_comma_tsv_and_negate(tmp_path: Path) -> None:
    p = tmp_path / "eis.tsv"
    p.write_text("# my lab EIS\nf [kHz]\tRe\t-Im\n1,0\t10,5\t2,0\n0,1\t11,0\t3,5\n", encoding="utf-8")
    m = ColumnMapping(
        columns={"freq_Hz": ("f [kHz]", "kHz"), "z_re_ohm": ("Re", "Ohm"), "z_im_ohm": ("-Im", "ohm")},
        decimal=",",
        negate=("z_im_ohm",),
    )
    d = parse_file(p, mapping=m)
    assert d.technique == "EIS"
    np.testing.assert_allclose(d.columns["freq_Hz"], [1000.0, 100.0])
    np.testing.assert_allclose(d.columns["z_im_ohm"], [-2.0, -3.5])


def test_mapping_on_binary_instrument_file_is_refused(echem_dir: Path) -> None:
    with pytest.raises(ParseError, match="column mapping was given"):
        parse_file(
            echem_dir / "biologic_pairs/yadg_ocv.mpr", mapping=ColumnMapping(columns={"time_s": ("t", "s")})
        )


# ----------------------------------------------------------------------------- garbage


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.mpt"
    p.write_bytes(b"")
    with pytest.raises(ParseError, match="empty"):
        parse_file(p)
    with pytest.raises(ParseError, match="empty"):
        detect_format(b"")


def test_binary_garbage(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    p = tmp_path / "garbage.mpr"
    p.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ParseError, match="not a recognised instrument file"):
        parse_file(p)


def test_unknown_text(tmp_path: Path) -> None:
    p = tmp_path / "notes.mpt"
    p.write_text("Dear diary, today the cell died.\n")
    with pytest.raises(ParseError, match="not a recognised instrument file"):
        parse_file(p)


def test_header_only_mpt(echem_dir: Path, tmp_path: Path) -> None:
    lines = (echem_dir / "biologic_pairs/yadg_ocv.mpt").read_bytes().split(b"\n")
    p = tmp_path / "hdr.mpt"
    p.write_bytes(b"\n".join(lines[:53]) + b"\n")
    with pytest.raises(ParseError, match="no data rows"):
        parse_file(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="not found"):
        parse_file(tmp_path / "nope.mpr")


# ----------------------------------------------------------------------------- writer round trip


def _synthetic(technique: str, n: int = 2000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.5, 2.0, n))
    if technique == "PEIS":
        f = np.logspace(5, -2, n)
        w = 2 * np.pi * f
        z = 10 + 1 / (1 / 50 + 1j * w * 1e-5)
        return {
            "time_s": t,
            "freq_Hz": f,
            "z_re_ohm": z.real,
            "z_im_ohm": z.imag,
            "voltage_V": np.full(n, 3.7),
            "cycle": np.ones(n, dtype=int),
        }
    if technique == "GCPL":
        hc = np.arange(n) // 100
        i = np.where(hc % 2 == 0, 1e-4, -1e-4)
        return {
            "time_s": t,
            "voltage_V": 0.4 * np.sign(i) + rng.normal(0, 1e-3, n),
            "current_A": i,
            "charge_Ah": np.cumsum(i * np.diff(t, prepend=0)) / 3600,
            "half_cycle": hc,
            "cycle": hc // 2,
            "step": hc % 2 + 1,
            "capacity_charge_Ah": np.where(i > 0, 1e-6, 0.0),
            "capacity_discharge_Ah": np.where(i < 0, 2e-6, 0.0),
            "temperature_C": rng.normal(25, 0.1, n),
        }
    v = np.linspace(0, 1, n)
    return {
        "time_s": t,
        "voltage_V": v,
        "current_A": 1e-3 * v**2 + rng.normal(0, 1e-7, n),
        "charge_Ah": np.linspace(0, 1e-3, n),
    }


@pytest.mark.parametrize("technique", ["GCPL", "PEIS", "CA", "LSV"])
@pytest.mark.parametrize("decimal", [".", ","])
def test_write_mpt_round_trip(tmp_path: Path, technique: str, decimal: str) -> None:
    from measurements.parsers.synthetic_mpt import write_mpt

    cols = _synthetic(technique)
    p = write_mpt(tmp_path / "syn.txt", technique, cols, decimal=decimal)
    d = parse_file(p)
    assert d.format == "biologic-mpt" and d.technique == technique
    assert d.metadata["decimal"] == decimal
    assert d.metadata["start_time"] == "2024-01-01T09:00:00"
    assert sorted(d.columns) == sorted(cols)
    for c, v in cols.items():
        np.testing.assert_allclose(d.columns[c], v, rtol=1e-12, atol=0, err_msg=c)


def test_write_mpt_rejects_bad_input(tmp_path: Path) -> None:
    from measurements.parsers.synthetic_mpt import write_mpt

    with pytest.raises(ValueError, match="technique"):
        write_mpt(tmp_path / "x.mpt", "XYZ", {"time_s": [0.0]})
    with pytest.raises(ValueError, match="needs the columns"):
        write_mpt(tmp_path / "x.mpt", "PEIS", {"time_s": [0.0]})
    with pytest.raises(ValueError, match="same length"):
        write_mpt(tmp_path / "x.mpt", "GCPL", {"time_s": [0.0, 1.0], "voltage_V": [1.0], "current_A": [0.0]})
