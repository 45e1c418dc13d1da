"""Reads of the synthesis part of formulations: recipes as domain components, their composition, scaled amounts,
the lots on hand for a recipe, and the team-scoped querysets of every list page and endpoint.

Every queryset is built once with the joins its page needs (no query in a loop). Composition is computed by the
pure calculator (``formulations.domain``) from the recipe as entered; nothing derived is typed in.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, QuerySet

from formulations import domain
from formulations.domain import Component, CompositionError
from formulations.models import (
    AmountKind,
    Batch,
    BatchComponent,
    Chemical,
    Electrode,
    LotStatus,
    Membrane,
    Mould,
    Pellet,
    ProcessStep,
    Recipe,
    RecipeComponent,
    RecipeVersion,
    StockLot,
)
from lims.permissions import scope_to_teams
from lims.queries import SubqueryCount

AMOUNT_UNITS: dict[str, str] = {AmountKind.MASS: "g", AmountKind.VOLUME: "mL", AmountKind.AMOUNT: "mol"}

# ChemicalRole values the calculator knows; anode metals and current collectors count as "other" in a recipe.
_DOMAIN_ROLES = set(domain.ROLES)


def domain_role(role: str) -> Any:
    return role if role in _DOMAIN_ROLES else "other"


def chemical_label(chemical: Chemical) -> str:
    return chemical.abbreviation or chemical.name


def as_domain_component(
    *, name: str, role: str, chemical: Chemical, amount_kind: str, amount: float
) -> Component:
    """A recipe line as the calculator's Component (molar mass and density from the chemical)."""
    kwargs: dict[str, Any] = {
        "mass_g": None,
        "volume_mL": None,
        "amount_mol": None,
        AMOUNT_KEYS[amount_kind]: amount,
    }
    return Component(
        name=name,
        role=domain_role(role),
        molar_mass_g_per_mol=chemical.molar_mass or None,
        density_g_per_mL=chemical.density or None,
        **kwargs,
    )


AMOUNT_KEYS: dict[str, str] = {
    AmountKind.MASS: "mass_g",
    AmountKind.VOLUME: "volume_mL",
    AmountKind.AMOUNT: "amount_mol",
}


def unique_names(chemicals: Sequence[Chemical]) -> list[str]:
    """Labels for the calculator, which needs unique names: "LLZTO", "LLZTO #2" when a chemical repeats."""
    seen: dict[str, int] = {}
    names = []
    for chem in chemicals:
        label = chemical_label(chem)
        seen[label] = seen.get(label, 0) + 1
        names.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return names


def recipe_components_as_domain(
    components: Sequence[RecipeComponent], scale_factor: float = 1.0
) -> list[Component]:
    """The recipe (optionally scaled by ``scale_factor``) as calculator components, in recipe order."""
    names = unique_names([c.chemical for c in components])
    return [
        as_domain_component(
            name=name,
            role=c.role,
            chemical=c.chemical,
            amount_kind=c.amount_kind,
            amount=c.amount * scale_factor,
        )
        for name, c in zip(names, components, strict=True)
    ]


def batch_components_as_domain(components: Sequence[BatchComponent]) -> list[Component]:
    """What was actually weighed in a batch, as calculator components (amounts in the recipe line's unit)."""
    rcs = [bc.recipe_component for bc in components]
    names = unique_names([rc.chemical for rc in rcs])
    return [
        as_domain_component(
            name=name, role=rc.role, chemical=rc.chemical, amount_kind=rc.amount_kind, amount=bc.actual_amount
        )
        for name, rc, bc in zip(names, rcs, components, strict=True)
    ]


def _mmol(value: float | None) -> float | None:
    return None if value is None else value * 1000.0


def composition(components: Sequence[Component]) -> dict[str, Any]:
    """Everything the calculator derives from a recipe, as plain JSON-ready values.

    ``ok`` is False (with ``error``) when the recipe cannot be summarised at all (no components, a volume-dosed
    component without a density...). Quantities that cannot be derived are None and the reason is in ``notes``.
    """
    if not components:
        return {"ok": False, "error": "the recipe has no components yet", "components": []}
    try:
        s = domain.summarise(components)
    except CompositionError as exc:
        return {"ok": False, "error": str(exc), "components": []}
    rows = [
        {
            "name": c.name,
            "role": c.role,
            "dosed_by": c.dosed_by,
            "mass_g": s.masses_g[c.name],
            "mass_fraction": s.mass_fractions[c.name],
            "amount_mmol": _mmol(s.amounts_mol.get(c.name)),
        }
        for c in components
    ]
    return {
        "ok": True,
        "total_mass_g": s.total_mass_g,
        "components": rows,
        "monomer_mole_ratios": dict(s.monomer_mole_ratios) if s.monomer_mole_ratios else None,
        "salt_amount_mmol": _mmol(s.salt_amount_mol),
        "solvent_mass_g": s.solvent_mass_g,
        "salt_molality_mol_per_kg": s.salt_molality_mol_per_kg,
        "salt_to_solvent_molar_ratio": s.salt_to_solvent_molar_ratio,
        "initiator_mass_fraction_of_monomers": s.initiator.mass_fraction_of_monomers if s.initiator else None,
        "initiator_mol_percent_of_monomers": s.initiator.mol_percent_of_monomers if s.initiator else None,
        "filler_weight_fraction": s.filler_weight_fraction,
        "estimated_density_g_per_mL": s.estimated_density_g_per_mL,
        "notes": list(s.notes),
    }


def version_composition(version: RecipeVersion) -> dict[str, Any]:
    """Composition of a recipe version (uses prefetched components when present)."""
    return composition(recipe_components_as_domain(list(version.components.all())))


def recipe_mass_g(version: RecipeVersion) -> float | None:
    """Total mass of one recipe quantity in g (None when a component cannot be converted to a mass)."""
    try:
        return domain.total_mass_g(recipe_components_as_domain(list(version.components.all())))
    except CompositionError:
        return None


@dataclass(frozen=True)
class ScaledLine:
    """One recipe line scaled to a batch: the planned amount in the line's unit and, when known, in g."""

    component: RecipeComponent
    name: str
    planned_amount: float
    unit: str
    planned_mass_g: float | None


def scaled_amounts(version: RecipeVersion, scale_factor: float) -> list[ScaledLine]:
    """Planned amounts for a batch: recipe amount x scale factor, per component (same dosing mode)."""
    components = list(version.components.all())
    domain_components = recipe_components_as_domain(components, scale_factor)
    lines = []
    for rc, dc in zip(components, domain_components, strict=True):
        try:
            mass: float | None = domain.component_mass_g(dc)
        except CompositionError:
            mass = None
        lines.append(
            ScaledLine(
                component=rc,
                name=dc.name,
                planned_amount=rc.amount * scale_factor,
                unit=AMOUNT_UNITS[rc.amount_kind],
                planned_mass_g=mass,
            )
        )
    return lines


def usable_lots_by_chemical(chemical_ids: Iterable[int]) -> dict[int, list[StockLot]]:
    """Available lots with something on hand, per chemical, soonest expiry first (one query)."""
    lots = (
        StockLot.objects.filter(
            chemical_id__in=set(chemical_ids), status=LotStatus.AVAILABLE, quantity_on_hand__gt=0
        )
        .select_related("chemical", "location")
        .order_by("chemical_id", "expires_on", "received_on", "code")
    )
    result: dict[int, list[StockLot]] = defaultdict(list)
    for lot in lots:
        result[lot.chemical_id].append(lot)
    return dict(result)


def lot_choice_label(lot: StockLot) -> str:
    expiry = f", expires {lot.expires_on:%Y-%m-%d}" if lot.expires_on else ""
    return f"{lot.code}: {lot.quantity_on_hand:.4g} {lot.quantity_unit} on hand{expiry}"


# ------------------------------------------------------------------------------------------ scoped querysets


def _version_prefetch() -> list[Any]:
    return [
        Prefetch(
            "components",
            queryset=RecipeComponent.objects.select_related("chemical").order_by("order", "id"),
        ),
        Prefetch("steps", queryset=ProcessStep.objects.order_by("order", "id")),
    ]


def recipes_for(user: Any) -> QuerySet[Recipe]:
    return scope_to_teams(
        Recipe.objects.select_related("team").annotate(
            version_count=SubqueryCount(RecipeVersion.objects.filter(recipe=OuterRef("pk"))),
            batch_count=SubqueryCount(Batch.objects.filter(recipe_version__recipe=OuterRef("pk"))),
        ),
        user,
    ).order_by("name")


def versions_for(user: Any) -> QuerySet[RecipeVersion]:
    return scope_to_teams(
        RecipeVersion.objects.select_related("recipe", "recipe__team", "derived_from", "derived_from__recipe")
        .prefetch_related(*_version_prefetch())
        .annotate(batch_count=SubqueryCount(Batch.objects.filter(recipe_version=OuterRef("pk")))),
        user,
        "recipe__team",
    ).order_by("recipe__name", "-number")


def components_for(user: Any) -> QuerySet[RecipeComponent]:
    return scope_to_teams(
        RecipeComponent.objects.select_related("chemical", "version", "version__recipe"),
        user,
        "version__recipe__team",
    )


def steps_for(user: Any) -> QuerySet[ProcessStep]:
    return scope_to_teams(
        ProcessStep.objects.select_related("version", "version__recipe"), user, "version__recipe__team"
    )


def batches_for(user: Any) -> QuerySet[Batch]:
    return scope_to_teams(
        Batch.objects.select_related("recipe_version", "recipe_version__recipe", "operator", "team").annotate(
            flagged_count=SubqueryCount(BatchComponent.objects.filter(batch=OuterRef("pk"), flagged=True)),
            membrane_count=SubqueryCount(Membrane.objects.filter(batch=OuterRef("pk"))),
        ),
        user,
    ).order_by("-started_at", "-id")


def batch_detail_queryset(user: Any) -> QuerySet[Batch]:
    return batches_for(user).prefetch_related(
        Prefetch(
            "components",
            queryset=BatchComponent.objects.select_related(
                "recipe_component", "recipe_component__chemical", "lot", "transaction"
            ).order_by("recipe_component__order", "id"),
        ),
        Prefetch("membranes", queryset=Membrane.objects.select_related("mould")),
    )


def moulds_all() -> QuerySet[Mould]:
    return Mould.objects.annotate(membrane_count=Count("membranes")).order_by("name")


def membranes_for(user: Any) -> QuerySet[Membrane]:
    return scope_to_teams(
        Membrane.objects.select_related(
            "batch", "batch__recipe_version", "batch__recipe_version__recipe", "mould"
        ),
        user,
    ).order_by("-cured_at", "-id")


def pellets_for(user: Any) -> QuerySet[Pellet]:
    return scope_to_teams(Pellet.objects.select_related("lot", "lot__chemical"), user).order_by(
        "-made_at", "-id"
    )


def electrodes_for(user: Any) -> QuerySet[Electrode]:
    return scope_to_teams(
        Electrode.objects.select_related(
            "active_lot", "active_lot__chemical", "conductive_lot", "conductive_lot__chemical", "binder_lot"
        ),
        user,
    ).order_by("-made_at", "-id")


# ------------------------------------------------------------------------------------------ derived values


def membrane_derived(m: Membrane) -> dict[str, Any]:
    """Thickness from the cast mass, the measured one, and their relative discrepancy (measured vs derived)."""
    discrepancy = None
    if m.thickness_measured and m.thickness_from_mass:
        discrepancy = domain.thickness_discrepancy(m.thickness_measured, m.thickness_from_mass)
    return {
        "thickness_from_mass_um": m.thickness_from_mass,
        "thickness_measured_um": m.thickness_measured,
        "thickness_discrepancy": discrepancy,
        "thickness_um": m.thickness_um,
        "thickness_source": m.thickness_source,
        "slurry_density_source": "estimated from the components (ideal mixing)"
        if m.slurry_density_estimated
        else "measured",
    }


def pellet_derived(p: Pellet) -> dict[str, Any]:
    """Final geometric and relative density, green density and shrinkage when the green dimensions are known."""
    green_density = linear = volumetric = None
    if p.green_diameter and p.green_thickness:
        green_density = domain.geometric_density_g_per_cm3(p.powder_mass, p.green_diameter, p.green_thickness)
        linear = domain.linear_shrinkage(p.green_diameter, p.final_diameter)
        volumetric = domain.volumetric_shrinkage(
            p.green_diameter, p.green_thickness, p.final_diameter, p.final_thickness
        )
    theoretical = p.lot.chemical.theoretical_density
    return {
        "geometric_density_g_per_cm3": p.geometric_density,
        "theoretical_density_g_per_cm3": theoretical,
        "relative_density": p.relative_density,
        "porosity": None if p.relative_density is None else 1.0 - p.relative_density,
        "green_density_g_per_cm3": green_density,
        "linear_shrinkage": linear,
        "volumetric_shrinkage": volumetric,
    }


def electrode_derived(e: Electrode, c_rate: float | None = None) -> dict[str, Any]:
    """Active mass, the chemical's specific capacity, the 1 C current and (optionally) the current at ``c_rate``."""
    q = e.active_lot.chemical.specific_capacity
    one_c_mA = None
    at_rate_mA = None
    if q and e.active_mass > 0:
        one_c_mA = domain.one_c_current_A(e.active_mass, q) * 1000.0
        if c_rate is not None:
            at_rate_mA = domain.current_for_c_rate_A(e.active_mass, q, c_rate) * 1000.0
    loading = e.loading
    if loading is None and e.area:
        loading = domain.areal_loading_mg_per_cm2(e.active_mass, e.area)
    return {
        "active_mass_mg": e.active_mass * 1000.0,
        "active_loading_mg_per_cm2": loading,
        "specific_capacity_mAh_per_g": q,
        "capacity_mAh": None if not q else e.active_mass * q,
        "one_c_current_mA": one_c_mA,
        "c_rate": c_rate,
        "current_at_c_rate_mA": at_rate_mA,
    }


def is_finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
