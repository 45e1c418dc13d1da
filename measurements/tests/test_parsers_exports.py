"""Exports of other cyclers (measurements/parsers/exports.py) on the real files of ../shared/echem_data.

Expected values are read off the files themselves (first and last data rows, row counts from wc -l minus
the header lines), so each assertion can be checked by opening the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from measurements.parsers import ParseError, ZipLimits, detect_format, parse_file


def test_an_arbin_csv_export_reads_seconds_volts_amps_and_capacities(echem_dir: Path) -> None:
    """beep_FastCharge_000025_CH8.csv: 249 lines = header + 248 rows; first row Test_Time 10.0024 s,
    Voltage 3.3011441 V, Current 0, Temperature 30.109268 C."""
    d = parse_file(echem_dir / "more_formats/beep_FastCharge_000025_CH8.csv")
    assert (d.format, d.technique, d.n_rows) == ("arbin-csv", "CYCLING", 248)
    c = d.columns
    assert c["time_s"][0] == pytest.approx(10.0024)
    assert c["voltage_V"][0] == pytest.approx(3.3011441)
    assert c["temperature_C"][0] == pytest.approx(30.109268)
    assert {"cycle", "step", "capacity_charge_Ah", "capacity_discharge_Ah"} <= set(c)
    assert d.metadata["source_units"]["current_A"] == "A"


def test_an_arbin_xlsx_export_skips_the_info_sheet_and_reads_the_channel_sheet(echem_dir: Path) -> None:
    """navani_arbin_Channel_11.xlsx: sheet Global_Info (test report), then Channel_11_1 with 4,527 rows
    = header + 4,526 records; first record Test_Time(s) 1.001, Voltage(V) 2.637298583984375."""
    d = parse_file(echem_dir / "more_formats/navani_arbin_Channel_11.xlsx")
    assert (d.format, d.n_rows) == ("arbin-xlsx", 4526)
    assert d.metadata["sheets"] == ["Channel_11_1"]
    assert d.columns["time_s"][0] == pytest.approx(1.001)
    assert d.columns["voltage_V"][0] == pytest.approx(2.637298583984375)
    assert d.columns["cycle"].dtype == np.int64 and d.columns["cycle"][0] == 1


def test_a_maccor_raw_file_reads_signed_amps(echem_dir: Path) -> None:
    """beep_PredictionDiagnostics_000151_test.052: 336 lines = 2 header lines + 1 blank + 333 rows; the
    first row is a discharge (State D) at -4.8400091554 A, 3.86823835 V, Test (Sec) 769267.24."""
    d = parse_file(echem_dir / "more_formats/beep_PredictionDiagnostics_000151_test.052")
    assert (d.format, d.n_rows) == ("maccor-raw", 333)
    assert d.columns["current_A"][0] == pytest.approx(-4.8400091554)
    assert d.columns["voltage_V"][0] == pytest.approx(3.86823835)
    assert d.columns["time_s"][0] == pytest.approx(769267.24)
    assert d.columns["cycle"][0] == 37


def test_a_novonix_file_reads_the_data_section_of_quoted_lines_in_hours(echem_dir: Path) -> None:
    """[Data] on line 57; 3,942 rows; Run Time (h) 0.0003111 on the second row = 1.11996 s."""
    d = parse_file(echem_dir / "more_formats/beep_test_Nova_Form-CH01-01_short.csv")
    assert (d.format, d.n_rows) == ("novonix-csv", 3942)
    assert d.columns["time_s"][1] == pytest.approx(0.0003111 * 3600)
    assert d.columns["voltage_V"][0] == pytest.approx(0.13736417)
    assert d.columns["temperature_C"][0] == pytest.approx(38.92947006)
    assert d.metadata["header_line"] == 58


def test_an_eclab_text_export_turns_timestamps_into_seconds(echem_dir: Path) -> None:
    """time/s holds "05/05/2021 15:36:22.757" ... "05/06/2021 19:57:03.527" (month first): 28 h 20 min
    40.77 s = 102,040.77 s; I/mA 2493.26220703125 on the second row = 2.49326 A."""
    d = parse_file(echem_dir / "more_formats/beep_test_loopsnewoutput_MB_CE1_short10k.csv")
    assert (d.format, d.n_rows) == ("eclab-csv", 9999)
    assert d.metadata["time_from_timestamps"] is True
    assert d.columns["time_s"][0] == 0.0
    assert d.columns["time_s"][-1] == pytest.approx(102_040.77, abs=1e-3)
    assert d.columns["current_A"][1] == pytest.approx(2.49326220703125)


def test_a_truncated_maccor_text_export_is_refused_naming_the_cut_line(echem_dir: Path) -> None:
    """cellpy_maccor_two.txt ends in the middle of record 214 (9 of 28 fields): refused, not half-read."""
    with pytest.raises(ParseError, match=r"line 229 has 9 of the 28 fields.*truncated"):
        parse_file(echem_dir / "more_formats/cellpy_maccor_two.txt")


def test_the_maccor_text_layout_reads_minutes_and_decimal_commas(echem_dir: Path, tmp_path: Path) -> None:
    """The same file without its cut last line: 213 rows, TestTime 212,000000 min on the last = 12,720 s."""
    lines = (echem_dir / "more_formats/cellpy_maccor_two.txt").read_text().splitlines()[:-1]
    p = tmp_path / "maccor.txt"
    p.write_text("\n".join(lines) + "\n")
    d = parse_file(p)
    assert (d.format, d.n_rows) == ("maccor-text", 213)
    assert d.columns["time_s"][-1] == pytest.approx(212 * 60.0)
    assert d.columns["voltage_V"][0] == pytest.approx(0.1377)


@pytest.mark.parametrize(
    "rel, message",
    [
        ("neware/cellpy_nw_regular_export_ife_example.csv", "Neware BTS CSV export"),
        ("more_formats/beep_FastCharge_000025_CH8_Metadata.csv", "Arbin test metadata file"),
    ],
)
def test_exports_we_do_not_read_are_named_with_what_to_upload_instead(
    echem_dir: Path, rel: str, message: str
) -> None:
    with pytest.raises(ParseError, match=message):
        parse_file(echem_dir / rel)


def _land_workbook(path: Path, rows: list[tuple[float, float, float, int, int, float]]) -> None:
    """A LAND (LANDdt) export in its documented English layout: an info sheet, then the record sheet."""
    import openpyxl

    wb = openpyxl.Workbook()
    info = wb.active
    info.title = "Info"
    info.append(["Test name", "Li|LLZTO-PMA|LFP 0.2C"])
    record = wb.create_sheet("Record")
    record.append(
        [
            "Record",
            "TestTime/Sec",
            "StepTime/Sec",
            "Cycle-Index",
            "Step-Index",
            "Voltage/V",
            "Current/mA",
            "Capacity/mAh",
        ]
    )
    for k, (t, v, i_mA, cycle, step, q) in enumerate(rows, start=1):
        record.append([k, t, t, cycle, step, v, i_mA, q])
    wb.save(path)


def test_a_land_xlsx_export_reads_milliamps_and_milliamp_hours(tmp_path: Path) -> None:
    """0.1 mA for 3600 s = 0.1 mAh = 1e-4 Ah; the current column in mA becomes amperes."""
    p = tmp_path / "land.xlsx"
    _land_workbook(
        p, [(0.0, 3.40, 0.1, 1, 1, 0.0), (1800.0, 3.42, 0.1, 1, 1, 0.05), (3600.0, 3.45, 0.1, 1, 1, 0.1)]
    )
    assert detect_format(p.read_bytes()[:65536], "renamed.bin") == "xlsx"
    d = parse_file(p, filename="renamed.bin")
    assert (d.format, d.n_rows, d.metadata["sheets"]) == ("land-xlsx", 3, ["Record"])
    np.testing.assert_allclose(d.columns["current_A"], [1e-4, 1e-4, 1e-4])
    np.testing.assert_allclose(d.columns["charge_Ah"], [0.0, 5e-5, 1e-4])


def test_a_workbook_of_no_known_export_is_refused_naming_the_layouts(tmp_path: Path) -> None:
    import openpyxl

    p = tmp_path / "sheet.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["sample", "mass", "colour", "notes"])
    wb.active.append(["A", 1.0, "red", ""])
    wb.save(p)
    with pytest.raises(ParseError, match="no sheet of this workbook has the header of a known export"):
        parse_file(p)


def test_an_xlsx_that_would_expand_beyond_the_limit_is_refused_before_opening(tmp_path: Path) -> None:
    p = tmp_path / "land.xlsx"
    _land_workbook(p, [(float(t), 3.4, 0.1, 1, 1, 0.0) for t in range(200)])
    with pytest.raises(ParseError, match="would expand to"):
        parse_file(p, zip_limits=ZipLimits(max_total_bytes=1000))


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    import zipfile

    p = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ParseError, match="not an Excel workbook"):
        parse_file(p)


def test_a_synthetic_mpr_reads_back_through_galvani_like_its_mpt_twin(tmp_path: Path) -> None:
    """The demo's .mpr writer: the same spectrum as .mpr (float32 impedance) and .mpt agree to 1e-6."""
    from measurements.parsers.synthetic_mpr import write_mpr
    from measurements.parsers.synthetic_mpt import write_mpt

    f = np.logspace(6, -1, 71)
    z = 100 + 50 / (1 + 1j * f / 1e3)
    cols = {
        "time_s": np.arange(71) * 2.0,
        "freq_Hz": f,
        "z_re_ohm": z.real,
        "z_im_ohm": z.imag,
        "temperature_C": np.full(71, 40.0),
    }
    a = parse_file(write_mpr(tmp_path / "x.mpr", "PEIS", cols))
    b = parse_file(write_mpt(tmp_path / "x.mpt", "PEIS", cols))
    assert (a.format, a.technique, a.n_rows) == ("biologic-mpr", "PEIS", 71)
    assert a.metadata["technique_source"] == "settings"
    for name in cols:
        np.testing.assert_allclose(a.columns[name], b.columns[name], rtol=1e-6, err_msg=name)
    with pytest.raises(ValueError, match="no .mpr technique id"):
        write_mpr(tmp_path / "y.mpr", "TGA", cols)


def test_a_synthetic_ndax_reads_back_through_newarenda(tmp_path: Path) -> None:
    """The demo's .ndax writer: records over several 4096-byte pages, per-step time made cumulative again,
    voltage to 0.1 mV, current exact on its range, capacity counters per step equal to the integral of I dt."""
    from measurements.analysis import synthetic
    from measurements.parsers.synthetic_ndax import RECORDS_PER_PAGE, current_range, write_ndax

    d = synthetic.full_cell_cycling(
        [150.0] * 6,
        5e-6,
        0.5,
        200.0,
        coulombic_efficiency=np.full(6, 0.998),
        points_per_half_cycle=10,
        plateau_V=3.75,
        seed=3,
    )
    cols = {"time_s": d.time_s, "voltage_V": d.voltage_V, "current_A": d.current_A}
    assert d.time_s.size > 2 * RECORDS_PER_PAGE  # three pages at least
    parsed = parse_file(write_ndax(tmp_path / "x.ndax", cols, comment="SYNTHETIC"))
    assert (parsed.format, parsed.technique, parsed.n_rows) == ("neware-ndax", "CYCLING", d.time_s.size)
    np.testing.assert_allclose(parsed.columns["time_s"], d.time_s, atol=2e-3)
    np.testing.assert_allclose(parsed.columns["voltage_V"], d.voltage_V, atol=0.6e-4)
    np.testing.assert_allclose(parsed.columns["current_A"], d.current_A, atol=1e-8)
    # the discharge counter at the end of each discharge step: |I| x step duration
    dis = parsed.columns["capacity_discharge_Ah"]
    i = np.asarray(d.current_A)
    ends = np.nonzero((i[:-1] < 0) & (i[1:] > 0))[0]
    assert ends.size >= 4
    last_charge = np.array([e - 1 - np.nonzero(i[:e][::-1] > 0)[0][0] for e in ends])  # where the step began
    expected = np.abs(i[ends]) * (d.time_s[ends] - d.time_s[last_charge]) / 3600.0
    np.testing.assert_allclose(dis[ends], expected, rtol=1e-3)
    assert parsed.metadata["step_types"] == ["CC_Chg", "CC_DChg"]
    assert current_range(0.5) == (-1, 1e-5)
    with pytest.raises(ValueError, match="beyond the largest"):
        current_range(1e7)
    # reproducible bytes: the same data is the same upload
    again = write_ndax(tmp_path / "y.ndax", cols, comment="SYNTHETIC")
    assert again.read_bytes() == (tmp_path / "x.ndax").read_bytes()
