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
    interfacial_ohm: tuple[float, ...]  # after 1, 10, 100, ... cycles (demo EIS of the symmetric cell)
    tensile_kPa: float | None


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
            Reported(
                "interfacial resistance after 1 cycle",
                e.label,
                e.interfacial_ohm[0],
                "ohm",
                f"DEMO-{c}-SYM-001",
                "interfacial_resistance",
            ),
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
                )
            )
    return rows


REPORTED: list[Reported] = [
    *_electrolyte_rows(),
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
