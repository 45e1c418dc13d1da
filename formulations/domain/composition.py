"""Recipe arithmetic for electrolyte precursors, composite slurries and electrode slurries.

All functions work on plain floats whose unit is part of every name (``mass_g``,
``volume_mL``, ``amount_mol`` ...). A recipe is a sequence of :class:`Component`; each
component is dosed in exactly one way (by mass, by volume or by amount of substance) and
carries the molar mass and density needed to convert between them when known.

Conventions
-----------
* mass  m / g, volume V / mL, amount n / mol, molar mass M / (g/mol), density rho / (g/mL).
* m = rho * V for volume-dosed components, m = n * M for amount-dosed ones, n = m / M.
* "precursor" means every component that is not a ``ceramic_filler``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from ._checks import fraction_0_1, non_negative, positive
from .errors import CompositionError

Role = Literal[
    "salt",
    "solvent",
    "monomer",
    "initiator",
    "ceramic_filler",
    "cathode_active",
    "conductive_additive",
    "binder",
    "slurry_solvent",
    "other",
]
ROLES: tuple[str, ...] = get_args(Role)

DEFAULT_FILLER_FRACTIONS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6)


def volume_mL_from_uL(volume_uL: float) -> float:
    """Convert microlitres to millilitres: V/mL = V/uL / 1000."""
    return non_negative(volume_uL, "volume (uL)") / 1000.0


@dataclass(frozen=True)
class Component:
    """One ingredient of a recipe.

    Exactly one of ``mass_g``, ``volume_mL`` or ``amount_mol`` must be given (the way the
    ingredient is dosed). ``molar_mass_g_per_mol`` and ``density_g_per_mL`` are optional
    and only needed for conversions (n = m / M, m = rho V).
    """

    name: str
    role: Role
    mass_g: float | None = None
    volume_mL: float | None = None
    amount_mol: float | None = None
    molar_mass_g_per_mol: float | None = None
    density_g_per_mL: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise CompositionError(f"a component needs a non-empty name, got {self.name!r}")
        if self.role not in ROLES:
            raise CompositionError(
                f"component {self.name!r}: unknown role {self.role!r}; expected one of {', '.join(ROLES)}"
            )
        given = {
            "mass_g": self.mass_g,
            "volume_mL": self.volume_mL,
            "amount_mol": self.amount_mol,
        }
        present = [key for key, value in given.items() if value is not None]
        if len(present) != 1:
            raise CompositionError(
                f"component {self.name!r}: give exactly one of mass_g, volume_mL or "
                f"amount_mol (got {', '.join(present) if present else 'none'})"
            )
        key = present[0]
        label = {"mass_g": "mass (g)", "volume_mL": "volume (mL)", "amount_mol": "amount (mol)"}
        what = f"{label[key]} of component {self.name!r}"
        object.__setattr__(self, key, non_negative(given[key], what))
        if self.molar_mass_g_per_mol is not None:
            object.__setattr__(
                self,
                "molar_mass_g_per_mol",
                positive(self.molar_mass_g_per_mol, f"molar mass of component {self.name!r}"),
            )
        if self.density_g_per_mL is not None:
            object.__setattr__(
                self,
                "density_g_per_mL",
                positive(self.density_g_per_mL, f"density of component {self.name!r}"),
            )

    @property
    def dosed_by(self) -> Literal["mass", "volume", "amount"]:
        """How the component is dosed: ``"mass"``, ``"volume"`` or ``"amount"``."""
        if self.mass_g is not None:
            return "mass"
        if self.volume_mL is not None:
            return "volume"
        return "amount"


def component_mass_g(c: Component) -> float:
    """Mass of a component in g.

    * dosed by mass:   m = mass_g
    * dosed by volume: m = V * rho            (needs density_g_per_mL)
    * dosed by amount: m = n * M              (needs molar_mass_g_per_mol)
    """
    if c.mass_g is not None:
        return c.mass_g
    if c.volume_mL is not None:
        if c.density_g_per_mL is None:
            raise CompositionError(
                f"component {c.name!r} is dosed by volume ({c.volume_mL:g} mL) but its "
                "density is unknown; enter density_g_per_mL to convert volume to mass"
            )
        return c.volume_mL * c.density_g_per_mL
    assert c.amount_mol is not None
    if c.molar_mass_g_per_mol is None:
        raise CompositionError(
            f"component {c.name!r} is dosed by amount ({c.amount_mol:g} mol) but its molar "
            "mass is unknown; enter molar_mass_g_per_mol to convert amount to mass"
        )
    return c.amount_mol * c.molar_mass_g_per_mol


def amount_of_substance_mol(c: Component) -> float:
    """Amount of substance in mol: n = m / M (or the dosed amount_mol as given)."""
    if c.amount_mol is not None:
        return c.amount_mol
    if c.molar_mass_g_per_mol is None:
        raise CompositionError(
            f"component {c.name!r} has no molar mass; enter molar_mass_g_per_mol to "
            "compute its amount of substance (n = m / M)"
        )
    return component_mass_g(c) / c.molar_mass_g_per_mol


def _check_names(components: Sequence[Component]) -> None:
    if not components:
        raise CompositionError("the recipe has no components")
    seen: set[str] = set()
    for c in components:
        if c.name in seen:
            raise CompositionError(f"component {c.name!r} appears twice; merge the entries or rename one")
        seen.add(c.name)


def total_mass_g(components: Sequence[Component]) -> float:
    """Total mass in g: m_total = sum_i m_i."""
    _check_names(components)
    return math.fsum(component_mass_g(c) for c in components)


def mass_fractions(components: Sequence[Component]) -> dict[str, float]:
    """Mass fraction of each component: w_i = m_i / sum_j m_j (the values sum to 1)."""
    masses = {c.name: component_mass_g(c) for c in components}
    total = total_mass_g(components)
    if total <= 0:
        raise CompositionError("the recipe has zero total mass; mass fractions are undefined")
    return {name: m / total for name, m in masses.items()}


def filler_weight_fraction(m_filler_g: float, m_precursor_g: float) -> float:
    """Filler weight fraction: w = m_f / (m_f + m_p)  (e.g. 0.2 for "20 wt% LLZTO")."""
    m_f = non_negative(m_filler_g, "filler mass (g)")
    m_p = non_negative(m_precursor_g, "precursor mass (g)")
    if m_f + m_p <= 0:
        raise CompositionError("filler and precursor masses are both zero; wt% is undefined")
    return m_f / (m_f + m_p)


def filler_mass_for_fraction(m_precursor_g: float, w: float) -> float:
    """Filler mass in g giving weight fraction w: m_f = w * m_p / (1 - w), w in [0, 1)."""
    m_p = positive(m_precursor_g, "precursor mass (g)")
    w = fraction_0_1(w, "filler weight fraction", include_one=False)
    return w * m_p / (1.0 - w)


def _with_role(components: Iterable[Component], role: str) -> list[Component]:
    if role not in ROLES:
        raise CompositionError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return [c for c in components if c.role == role]


def mole_ratios(components: Sequence[Component], role: str = "monomer") -> dict[str, float]:
    """Mole ratios of the components with ``role``, normalised to the smallest amount.

    r_i = n_i / min_j n_j  (over components with n_j > 0); e.g. MAAc:MMA:NMMAm = 1:2:1.
    """
    selected = _with_role(components, role)
    if not selected:
        raise CompositionError(f"the recipe has no component with role {role!r}")
    amounts = {c.name: amount_of_substance_mol(c) for c in selected}
    positive_amounts = [n for n in amounts.values() if n > 0]
    if not positive_amounts:
        raise CompositionError(f"every {role!r} component has zero amount; ratios undefined")
    smallest = min(positive_amounts)
    return {name: n / smallest for name, n in amounts.items()}


def salt_molality_mol_per_kg(salt_amount_mol: float, solvent_mass_g: float) -> float:
    """Molality in mol/kg of solvent: b = n_salt / (m_solvent / 1000)."""
    n = non_negative(salt_amount_mol, "salt amount (mol)")
    m = positive(solvent_mass_g, "solvent mass (g)")
    return n / (m / 1000.0)


def salt_to_solvent_molar_ratio(salt_amount_mol: float, solvent_amount_mol: float) -> float:
    """Salt-to-solvent molar ratio: r = n_salt / n_solvent (e.g. LiFSI:G4)."""
    n_salt = non_negative(salt_amount_mol, "salt amount (mol)")
    n_solv = positive(solvent_amount_mol, "solvent amount (mol)")
    return n_salt / n_solv


def initiator_mass_fraction_of_monomers(initiator_mass_g: float, monomer_mass_g: float) -> float:
    """Initiator mass relative to the monomers: f_m = m_initiator / m_monomers.

    This is the usual "x wt% initiator with respect to monomer" (multiply by 100 for wt%);
    the denominator is the monomer mass only, not monomers + initiator.
    """
    m_i = non_negative(initiator_mass_g, "initiator mass (g)")
    m_mon = positive(monomer_mass_g, "monomer mass (g)")
    return m_i / m_mon


def initiator_mol_percent_of_monomers(initiator_amount_mol: float, monomer_amount_mol: float) -> float:
    """Initiator amount relative to the monomers in mol%: 100 * n_initiator / n_monomers."""
    n_i = non_negative(initiator_amount_mol, "initiator amount (mol)")
    n_mon = positive(monomer_amount_mol, "monomer amount (mol)")
    return 100.0 * n_i / n_mon


@dataclass(frozen=True)
class InitiatorFraction:
    """Initiator loading relative to the monomers, two ways.

    * ``mass_fraction_of_monomers`` = m_initiator / m_monomers (dimensionless; x100 for wt%)
    * ``mol_percent_of_monomers``   = 100 * n_initiator / n_monomers (mol%)
    """

    mass_fraction_of_monomers: float
    mol_percent_of_monomers: float


def initiator_fraction(components: Sequence[Component]) -> InitiatorFraction:
    """Initiator loading of a recipe relative to all its ``monomer`` components.

    mass fraction = sum m_initiator / sum m_monomer;
    mol% = 100 * sum n_initiator / sum n_monomer (needs molar masses of all of them).
    """
    initiators = _with_role(components, "initiator")
    monomers = _with_role(components, "monomer")
    if not initiators:
        raise CompositionError("the recipe has no component with role 'initiator'")
    if not monomers:
        raise CompositionError("the recipe has no component with role 'monomer'")
    m_i = math.fsum(component_mass_g(c) for c in initiators)
    m_mon = math.fsum(component_mass_g(c) for c in monomers)
    n_i = math.fsum(amount_of_substance_mol(c) for c in initiators)
    n_mon = math.fsum(amount_of_substance_mol(c) for c in monomers)
    return InitiatorFraction(
        mass_fraction_of_monomers=initiator_mass_fraction_of_monomers(m_i, m_mon),
        mol_percent_of_monomers=initiator_mol_percent_of_monomers(n_i, n_mon),
    )


def scale_component(c: Component, factor: float) -> Component:
    """Scale a component by ``factor`` in the quantity it is dosed by (m, V or n times k)."""
    k = non_negative(factor, "scale factor")
    if c.mass_g is not None:
        return dataclasses.replace(c, mass_g=c.mass_g * k)
    if c.volume_mL is not None:
        return dataclasses.replace(c, volume_mL=c.volume_mL * k)
    assert c.amount_mol is not None
    return dataclasses.replace(c, amount_mol=c.amount_mol * k)


def scale_to_batch_mass(components: Sequence[Component], target_total_mass_g: float) -> list[Component]:
    """Scale a recipe to a total batch mass.

    k = m_target / m_total; every component keeps its dosing mode (mass stays mass,
    volume stays volume, amount stays amount) and is multiplied by k, so every mass
    fraction is unchanged.
    """
    target = positive(target_total_mass_g, "target batch mass (g)")
    total = total_mass_g(components)
    if total <= 0:
        raise CompositionError("the recipe has zero total mass and cannot be scaled")
    factor = target / total
    return [scale_component(c, factor) for c in components]


@dataclass(frozen=True)
class FillerVariant:
    """One member of a filler series: the precursor plus the filler mass for ``weight_fraction``."""

    weight_fraction: float
    filler_mass_g: float
    precursor_mass_g: float
    components: tuple[Component, ...]


def filler_series(
    components: Sequence[Component],
    filler: Component,
    fractions: Sequence[float] = DEFAULT_FILLER_FRACTIONS,
) -> list[FillerVariant]:
    """Filler series (e.g. 0/20/40/60 wt% LLZTO) built on one precursor recipe.

    For each w: m_f = w * m_p / (1 - w) with m_p the precursor mass; each variant's
    components are the precursor unchanged plus ``filler`` dosed by that mass (the
    template's own amount is ignored; its name, role, molar mass and density are kept).
    The 0 wt% variant carries the filler at 0 g so every variant lists the same names.
    """
    if any(c.role == "ceramic_filler" for c in components):
        raise CompositionError(
            "the precursor already contains a ceramic filler; pass the filler-free precursor"
        )
    if any(c.name == filler.name for c in components):
        raise CompositionError(f"the precursor already has a component named {filler.name!r}")
    if not fractions:
        raise CompositionError("give at least one filler weight fraction")
    m_p = total_mass_g(components)
    variants: list[FillerVariant] = []
    for w in fractions:
        m_f = filler_mass_for_fraction(m_p, w)
        dosed = dataclasses.replace(filler, mass_g=m_f, volume_mL=None, amount_mol=None)
        variants.append(
            FillerVariant(
                weight_fraction=float(w),
                filler_mass_g=m_f,
                precursor_mass_g=m_p,
                components=(*components, dosed),
            )
        )
    return variants


def estimated_slurry_density_g_per_mL(components: Sequence[Component]) -> float:
    """ESTIMATE of the mixture density by ideal (volume-additive) mixing.

    1 / rho_mix = sum_i w_i / rho_i, with w_i the mass fractions. Real mixtures deviate
    (salt dissolution, packing of powders); treat the result as an estimate and prefer a
    measured density when one is available. Components with zero mass are skipped.
    """
    fractions = mass_fractions(components)
    inverse = 0.0
    for c in components:
        w = fractions[c.name]
        if w == 0:
            continue
        if c.density_g_per_mL is None:
            raise CompositionError(
                f"cannot estimate the slurry density: component {c.name!r} has no density; "
                "enter density_g_per_mL for it"
            )
        inverse += w / c.density_g_per_mL
    return 1.0 / inverse


@dataclass(frozen=True)
class CompositionSummary:
    """Everything :func:`summarise` can derive from a recipe.

    Quantities that cannot be computed (missing molar mass or density, no component of
    the needed role) are ``None`` and the reason is listed in ``notes``.
    Salt = sum of ``salt`` components, solvent = sum of ``solvent`` components (a
    ``slurry_solvent`` such as NMP is not counted as the electrolyte solvent).
    """

    total_mass_g: float
    masses_g: Mapping[str, float]
    mass_fractions: Mapping[str, float]
    amounts_mol: Mapping[str, float]
    monomer_mole_ratios: Mapping[str, float] | None
    salt_amount_mol: float | None
    solvent_mass_g: float | None
    salt_molality_mol_per_kg: float | None
    salt_to_solvent_molar_ratio: float | None
    initiator: InitiatorFraction | None
    filler_weight_fraction: float | None
    estimated_density_g_per_mL: float | None
    notes: tuple[str, ...] = field(default=())


def summarise(components: Sequence[Component]) -> CompositionSummary:
    """Compute every derived quantity of a recipe at once (see :class:`CompositionSummary`)."""
    total = total_mass_g(components)
    masses = {c.name: component_mass_g(c) for c in components}
    fractions = mass_fractions(components)
    notes: list[str] = []
    amounts: dict[str, float] = {}
    for c in components:
        if c.amount_mol is not None or c.molar_mass_g_per_mol is not None:
            amounts[c.name] = amount_of_substance_mol(c)

    def attempt(label: str, compute: Callable[[], float]) -> float | None:
        try:
            return compute()
        except CompositionError as exc:
            notes.append(f"{label}: {exc}")
            return None

    monomers = _with_role(components, "monomer")
    ratios: dict[str, float] | None = None
    if monomers:
        try:
            ratios = mole_ratios(components, "monomer")
        except CompositionError as exc:
            notes.append(f"monomer mole ratios: {exc}")

    salts = _with_role(components, "salt")
    solvents = _with_role(components, "solvent")
    salt_n: float | None = None
    solvent_m: float | None = None
    molality: float | None = None
    molar_ratio: float | None = None
    if salts:
        salt_n = attempt("salt amount", lambda: math.fsum(amount_of_substance_mol(c) for c in salts))
    if solvents:
        solvent_m = math.fsum(masses[c.name] for c in solvents)
    if salt_n is not None and solvent_m is not None:
        n_salt = salt_n
        m_solv = solvent_m
        molality = attempt("molality", lambda: salt_molality_mol_per_kg(n_salt, m_solv))
        molar_ratio = attempt(
            "salt:solvent molar ratio",
            lambda: salt_to_solvent_molar_ratio(
                n_salt, math.fsum(amount_of_substance_mol(c) for c in solvents)
            ),
        )

    init: InitiatorFraction | None = None
    if _with_role(components, "initiator") and monomers:
        try:
            init = initiator_fraction(components)
        except CompositionError as exc:
            notes.append(f"initiator fraction: {exc}")

    fillers = _with_role(components, "ceramic_filler")
    filler_w: float | None = None
    if fillers:
        m_f = math.fsum(masses[c.name] for c in fillers)
        filler_w = filler_weight_fraction(m_f, total - m_f)

    density = attempt("estimated density", lambda: estimated_slurry_density_g_per_mL(components))

    return CompositionSummary(
        total_mass_g=total,
        masses_g=masses,
        mass_fractions=fractions,
        amounts_mol=amounts,
        monomer_mole_ratios=ratios,
        salt_amount_mol=salt_n,
        solvent_mass_g=solvent_m,
        salt_molality_mol_per_kg=molality,
        salt_to_solvent_molar_ratio=molar_ratio,
        initiator=init,
        filler_weight_fraction=filler_w,
        estimated_density_g_per_mL=density,
        notes=tuple(notes),
    )


__all__ = [
    "DEFAULT_FILLER_FRACTIONS",
    "ROLES",
    "Component",
    "CompositionSummary",
    "FillerVariant",
    "InitiatorFraction",
    "Role",
    "amount_of_substance_mol",
    "component_mass_g",
    "estimated_slurry_density_g_per_mL",
    "filler_mass_for_fraction",
    "filler_series",
    "filler_weight_fraction",
    "initiator_fraction",
    "initiator_mass_fraction_of_monomers",
    "initiator_mol_percent_of_monomers",
    "mass_fractions",
    "mole_ratios",
    "salt_molality_mol_per_kg",
    "salt_to_solvent_molar_ratio",
    "scale_component",
    "scale_to_batch_mass",
    "summarise",
    "total_mass_g",
    "volume_mL_from_uL",
]
