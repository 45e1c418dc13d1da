"""The source study's reported values (T. Li et al., Nano-Micro Lett. 18:189 (2026), doi 10.1007/s40820-025-02041-3).

DEMO / FIXTURE DATA ONLY. These numbers are used twice, on purpose: (1) as the parameters of the physical models
that generate the demo's synthetic raw files (measurements/demo_files.py), and (2) as the "paper" column of the
reproduction report, against which the values the LIMS computed from those raw files, through the real upload ->
parse -> analysis pipeline, are compared. Nothing else in the code may read them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Electrolyte:
    key: str  # "llzto_pma", "pma", "pellet"
    label: str
    sigma_20C_mS_per_cm: float
    ea_eV: float
    t_plus: float
    ccd_mA_per_cm2: float
    window_V: float
    # Li|Li at 0.1 mA/cm2, 0.1 mAh/cm2 (1 h half cycles): overpotential and life (None = no short seen)
    sym_overpotential_mV: float
    sym_short_h: float | None
    sym_hours: float
    interfacial_ohm: tuple[float, ...]  # after each of ``interfacial_cycles`` (EIS of the symmetric cell)
    tensile_kPa: float | None
    interfacial_cycles: tuple[int, ...] = (1, 10, 100, 200, 300)


ELECTROLYTES: dict[str, Electrolyte] = {
    "llzto_pma": Electrolyte(
        "llzto_pma",
        "LLZTO-PMA (20 wt% LLZTO)",
        0.266,
        0.331,
        0.632,
        0.8,
        4.76,
        400.0,
        None,
        10_000.0,
        (472.0, 354.0, 365.0, 400.0, 400.0),
        740.0,
    ),
    "pma": Electrolyte(
        "pma",
        "PMA (0 wt%)",
        0.07,
        0.501,
        0.435,
        0.35,
        4.26,
        680.0,
        740.0,
        800.0,
        (310.0, 172.0, 581.0, 51.0, 656.0),
        48.0,
    ),
    "pellet": Electrolyte(
        "pellet",
        "LLZTO pellet (sintered)",
        0.016,
        0.369,
        0.520,
        0.25,
        4.2,
        420.0,
        140.0,
        200.0,
        (883.0, 616.0, 748.0, 1040.0),
        None,
        (1, 10, 30, 50),
    ),
}

#: Li|LLZTO-PMA|LFP rate capability, mAh/g at each C-rate (then back to 0.1 C).
LFP_RATE_C = (0.1, 0.2, 0.5, 1.0, 2.0, 0.1)
LFP_RATE_MAH_PER_G = (143.79, 136.29, 125.38, 112.89, 101.90, 140.39)
LFP_RATE_RECOVERY = 0.9763
#: Li|LLZTO-PMA|LFP at 0.2 C: first cycle, best after activation, retention after 610 cycles, mean CE.
LFP_02C_FIRST = 134.13
LFP_02C_MAX = 138.16
LFP_02C_CYCLES = 610
LFP_02C_RETENTION = 0.9679
LFP_02C_MEAN_CE = 0.9989
#: Li|LLZTO-PMA|LFP at 1 C after activation and after 400 cycles.
LFP_1C_MAX = 119.19
LFP_1C_CYCLES = 400
LFP_1C_RETENTION = 0.9398
#: Li|LLZTO-PMA|NCM811 at 0.5 C.
NCM_05C_MAX = 150.0
NCM_05C_CYCLES = 300
NCM_05C_RETENTION = 0.70
LFP_SPECIFIC_CAPACITY = 170.0  # mAh/g, 1 C
NCM_SPECIFIC_CAPACITY = 200.0  # mAh/g, a common 1 C convention for NCM811 (the paper does not state it)


#: Li|Li runs at other current densities (half cycles of 1 h, so the areal capacity is j x 1 h):
#: (cell code, electrolyte key, j in mA/cm2, overpotential in mV, hours on test, short at h or None).
#: The 0.5 mA/cm2 overpotential is not reported by the paper: 950 mV is a model assumption, not compared.
SYMMETRIC_RUNS: tuple[tuple[str, str, float, float, float, float | None], ...] = (
    ("DEMO-LP20-SYM-003", "llzto_pma", 0.2, 400.0, 4700.0, None),
    ("DEMO-LP20-SYM-004", "llzto_pma", 0.3, 480.0, 3500.0, None),
    ("DEMO-LP20-SYM-005", "llzto_pma", 0.4, 800.0, 750.0, None),
    ("DEMO-LP20-SYM-006", "llzto_pma", 0.5, 950.0, 80.0, None),
    ("DEMO-PMA-SYM-002", "pma", 0.2, 750.0, 700.0, 630.0),
)
#: Li|PMA|LFP at 0.2 C: 114.09 mAh/g, 69.01 after 114 cycles; Li|LLZTO pellet|LFP: 110.22, short after 227.
LFP_02C_PMA = (114.09, 69.01, 114)
LFP_02C_PELLET_FIRST = 110.22
LFP_02C_PELLET_SHORT_CYCLE = 227
LFP_1C_LAST = 112.02


@dataclass(frozen=True)
class Reported:
    """One reported value and where the LIMS's own value for it lives (a demo cell's derived property)."""

    quantity: str
    electrolyte: str
    paper_value: float
    unit: str
    cell_code: str
    property_name: str
    note: str = ""
    scale: float = 1.0  # LIMS value x scale -> the paper's unit
    file_contains: str = ""  # only properties of the measurement whose raw file name contains this
    parameter_path: tuple[str | int, ...] = ()  # read the value from the property's parameters instead
    bound: str = ""  # "lower": the paper says "> value"; the LIMS value must not fall below it


def _electrolyte_rows() -> list[Reported]:
    rows: list[Reported] = []
    codes = {"llzto_pma": "LP20", "pma": "PMA", "pellet": "PEL"}
    for key, e in ELECTROLYTES.items():
        c = codes[key]
        rows += [
            Reported(
                "ionic conductivity at 20 °C (Arrhenius fit)",
                e.label,
                e.sigma_20C_mS_per_cm,
                "mS/cm",
                f"DEMO-{c}-BLK-001",
                "ionic_conductivity_20C",
            ),
            Reported("activation energy", e.label, e.ea_eV, "eV", f"DEMO-{c}-BLK-001", "activation_energy"),
            Reported(
                "Li+ transference number",
                e.label,
                e.t_plus,
                "",
                f"DEMO-{c}-SYM-001",
                "transference_number",
                "the paper also prints 0.621 for LLZTO-PMA in its highlights" if key == "llzto_pma" else "",
            ),
            Reported(
                "critical current density",
                e.label,
                e.ccd_mA_per_cm2,
                "mA/cm2",
                f"DEMO-{c}-SYM-002" if key == "llzto_pma" else f"DEMO-{c}-SYM-001",
                "critical_current_density",
            ),
        ]
        rows += [
            Reported(
                f"interfacial resistance after {n} cycle{'s' if n > 1 else ''}",
                e.label,
                r,
                "ohm",
                f"DEMO-{c}-SYM-001",
                "interfacial_resistance",
                "the drop to 51 ohm is a soft short" if key == "pma" and n == 200 else "",
                file_contains=f"_PEIS_after_{n}_cycles",
            )
            for n, r in zip(e.interfacial_cycles, e.interfacial_ohm, strict=True)
        ]
        if key == "llzto_pma":
            rows.append(
                Reported(
                    "stability window (threshold 0.01 mA/cm2)",
                    e.label,
                    e.window_V,
                    "V",
                    "DEMO-LP20-LSS-001",
                    "stability_window",
                )
            )
        rows.append(
            Reported(
                "Li|Li overpotential at 0.1 mA/cm2",
                e.label,
                e.sym_overpotential_mV,
                "mV",
                f"DEMO-{c}-SYM-001",
                "overpotential",
            )
        )
        if e.sym_short_h is not None:
            rows.append(
                Reported(
                    "Li|Li life at 0.1 mA/cm2 (short)",
                    e.label,
                    e.sym_short_h,
                    "h",
                    f"DEMO-{c}-SYM-001",
                    "symmetric_cycling_lifetime",
                )
            )
        else:
            rows.append(
                Reported(
                    "Li|Li time on test at 0.1 mA/cm2, no short",
                    e.label,
                    e.sym_hours,
                    "h",
                    f"DEMO-{c}-SYM-001",
                    "time_on_test",
                    "the paper reports > 10,000 h",
                    bound="lower",
                )
            )
    return rows


def _symmetric_rows() -> list[Reported]:
    rows: list[Reported] = []
    for code, key, j, eta, hours, short in SYMMETRIC_RUNS:
        label = ELECTROLYTES[key].label
        if j != 0.5:
            rows.append(
                Reported(f"Li|Li overpotential at {j:g} mA/cm2", label, eta, "mV", code, "overpotential")
            )
        if short is None:
            rows.append(
                Reported(
                    f"Li|Li time on test at {j:g} mA/cm2, no short",
                    label,
                    hours,
                    "h",
                    code,
                    "time_on_test",
                    f"the paper reports > {hours:,.0f} h",
                    bound="lower",
                )
            )
        else:
            rows.append(
                Reported(
                    f"Li|Li life at {j:g} mA/cm2 (short)",
                    label,
                    short,
                    "h",
                    code,
                    "symmetric_cycling_lifetime",
                )
            )
    return rows


def _rate_rows() -> list[Reported]:
    return [
        Reported(
            f"Li|LFP rate capability at {c:g} C" + (" (back)" if k == len(LFP_RATE_C) - 1 else ""),
            "LLZTO-PMA",
            q,
            "mAh/g",
            "DEMO-LP20-LFP-002",
            "rate_capability_recovery",
            "mean discharge capacity of the step, from the rate table",
            parameter_path=("rate_table", k, "mean_discharge_mAh_per_g"),
        )
        for k, (c, q) in enumerate(zip(LFP_RATE_C, LFP_RATE_MAH_PER_G, strict=True))
    ]


REPORTED: list[Reported] = [
    *_electrolyte_rows(),
    *_symmetric_rows(),
    *_rate_rows(),
    Reported(
        "tensile strength",
        ELECTROLYTES["llzto_pma"].label,
        740.0,
        "kPa",
        "membrane:M-DEMO-20-500",
        "tensile_strength",
    ),
    Reported(
        "tensile strength",
        ELECTROLYTES["pma"].label,
        48.0,
        "kPa",
        "membrane:M-DEMO-0-500",
        "tensile_strength",
    ),
    Reported(
        "Li|LFP 0.2 C first discharge",
        "LLZTO-PMA",
        LFP_02C_FIRST,
        "mAh/g",
        "DEMO-LP20-LFP-001",
        "discharge_capacity_first",
    ),
    Reported(
        "Li|LFP 0.2 C after activation",
        "LLZTO-PMA",
        LFP_02C_MAX,
        "mAh/g",
        "DEMO-LP20-LFP-001",
        "discharge_capacity_reference",
    ),
    Reported(
        "Li|LFP 0.2 C retention after 610 cycles",
        "LLZTO-PMA",
        LFP_02C_RETENTION * 100,
        "%",
        "DEMO-LP20-LFP-001",
        "capacity_retention",
    ),
    Reported(
        "Li|LFP 0.2 C mean Coulombic efficiency",
        "LLZTO-PMA",
        LFP_02C_MEAN_CE * 100,
        "%",
        "DEMO-LP20-LFP-001",
        "coulombic_efficiency_mean_excluding_first",
        "compared with the mean excluding cycle 1",
    ),
    Reported(
        "Li|LFP rate capability recovery at 0.1 C",
        "LLZTO-PMA",
        LFP_RATE_RECOVERY * 100,
        "%",
        "DEMO-LP20-LFP-002",
        "rate_capability_recovery",
    ),
    Reported(
        "Li|LFP 0.2 C first discharge",
        ELECTROLYTES["pma"].label,
        LFP_02C_PMA[0],
        "mAh/g",
        "DEMO-PMA-LFP-001",
        "discharge_capacity_first",
    ),
    Reported(
        f"Li|LFP 0.2 C after {LFP_02C_PMA[2]} cycles",
        ELECTROLYTES["pma"].label,
        LFP_02C_PMA[1],
        "mAh/g",
        "DEMO-PMA-LFP-001",
        "discharge_capacity_last",
    ),
    Reported(
        "Li|LFP 0.2 C first discharge",
        ELECTROLYTES["pellet"].label,
        LFP_02C_PELLET_FIRST,
        "mAh/g",
        "DEMO-PEL-LFP-001",
        "discharge_capacity_first",
    ),
    Reported(
        "Li|LFP 0.2 C cycles before the short",
        ELECTROLYTES["pellet"].label,
        LFP_02C_PELLET_SHORT_CYCLE,
        "",
        "DEMO-PEL-LFP-001",
        "cycle_count",
        "the cell stops cycling when it shorts",
    ),
    Reported(
        "Li|LFP 1 C after activation (pouch)",
        "LLZTO-PMA",
        LFP_1C_MAX,
        "mAh/g",
        "DEMO-LP20-POUCH-001",
        "discharge_capacity_reference",
    ),
    Reported(
        "Li|LFP 1 C retention after 400 cycles (pouch)",
        "LLZTO-PMA",
        LFP_1C_RETENTION * 100,
        "%",
        "DEMO-LP20-POUCH-001",
        "capacity_retention",
    ),
    Reported(
        "Li|LFP 1 C after 400 cycles (pouch)",
        "LLZTO-PMA",
        LFP_1C_LAST,
        "mAh/g",
        "DEMO-LP20-POUCH-001",
        "discharge_capacity_last",
    ),
    Reported(
        "elongation at break",
        ELECTROLYTES["llzto_pma"].label,
        80.0,
        "%",
        "membrane:M-DEMO-20-500",
        "elongation_at_break",
        "the paper reports a strain > 80% for both films",
        bound="lower",
    ),
    Reported(
        "elongation at break",
        ELECTROLYTES["pma"].label,
        80.0,
        "%",
        "membrane:M-DEMO-0-500",
        "elongation_at_break",
        "the paper reports a strain > 80% for both films",
        bound="lower",
    ),
    Reported(
        "Li|NCM811 0.5 C after activation",
        "LLZTO-PMA",
        NCM_05C_MAX,
        "mAh/g",
        "DEMO-LP20-NCM-001",
        "discharge_capacity_reference",
    ),
    Reported(
        "Li|NCM811 0.5 C retention after 300 cycles",
        "LLZTO-PMA",
        NCM_05C_RETENTION * 100,
        "%",
        "DEMO-LP20-NCM-001",
        "capacity_retention",
    ),
]
