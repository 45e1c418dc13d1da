"""Every write of the synthesis part: recipes and their versions, batches, moulds, membranes, pellets, electrodes.

Rules kept here (so the API, the pages and the admin cannot disagree):
- A recipe version is frozen from the moment a batch uses it: its components and steps never change again.
  Changing a frozen version in place is refused (ConflictError, HTTP 409); editing it (``revise_recipe``) makes a
  new version derived from it. Draft versions can be edited in place.
- Amounts enter as text with a unit ("3.74 g", "5 mL", "5.0 uL", "0.02 mol"); a wrong dimension is refused with
  the message of ``lims.units.parse_quantity`` ("expected a mass, a volume or an amount of substance, got a
  current: 0.9 mA").
- A batch draws every component from a chosen lot through ``inventory.consume_from_lot``, all in one database
  transaction: either every draw happens or none. Ledger rows point to the batch.
- Derived numbers (composition, thickness, densities, active mass) are computed by ``formulations.domain``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from formulations import domain
from formulations.domain import CompositionError
from formulations.models import (
    AmountKind,
    Batch,
    BatchComponent,
    BatchStatus,
    Chemical,
    ChemicalRole,
    Electrode,
    Membrane,
    Mould,
    MouldShape,
    Pellet,
    PressMode,
    ProcessStep,
    Recipe,
    RecipeComponent,
    RecipeVersion,
    StepKind,
    StockLot,
)
from formulations.selectors_synthesis import (
    AMOUNT_UNITS,
    as_domain_component,
    batch_components_as_domain,
    chemical_label,
    recipe_components_as_domain,
)
from formulations.services.inventory import check_lot_usable, consume_from_lot, new_code
from lims.dates import refuse_future
from lims.errors import ConflictError, DomainError
from lims.models import Attachment, Role, Team
from lims.permissions import has_role, team_ids_for
from lims.units import UnitError, parse_quantity

DEFAULT_TOLERANCE = domain.DEFAULT_TOLERANCE
ROOM_TEMPERATURE_C = 25.0  # "RT" in a step is recorded as 25 degC

_AMOUNT_DIMENSIONS = (
    (AmountKind.MASS, "mass", "g"),
    (AmountKind.VOLUME, "volume", "mL"),
    (AmountKind.AMOUNT, "amount", "mol"),
)
_ANY_AMOUNT = "a mass, a volume or an amount of substance"


# ------------------------------------------------------------------------------------------------ helpers


def _require_researcher(actor: Any, team_id: int | None) -> None:
    if not has_role(actor, team_id, Role.RESEARCHER):
        raise PermissionDenied("You need the researcher role in this record's team.")


def _require_any_researcher(actor: Any) -> None:
    if not (getattr(actor, "is_staff", False) or team_ids_for(actor, Role.RESEARCHER)):
        raise PermissionDenied("You need the researcher role in a team.")


def _audited_save(obj: Any, actor: Any, reason: str = "", **kwargs: Any) -> None:
    """Save with the actor (and reason) recorded on the history row, whatever channel the change came from."""
    obj._history_user = actor
    if reason:
        obj._change_reason = reason
    obj.save(**kwargs)


def _calc(fn: Any, *args: Any) -> Any:
    """Run a calculator function; its CompositionError becomes a DomainError with the same message."""
    try:
        return fn(*args)
    except CompositionError as exc:
        raise DomainError(str(exc)) from None


def _quantity(
    value: Any, *, dimension: str, unit: str, what: str, allow_negative: bool = False
) -> float | None:
    """Parse an optional quantity ("1 h", 3600, None) into ``unit``; the message names the field."""
    if value is None or value == "":
        return None
    try:
        return parse_quantity(value, dimension=dimension, unit=unit, allow_negative=allow_negative).magnitude
    except UnitError as exc:
        raise DomainError(f"{what}: {exc}") from None


def _required(value: Any, *, dimension: str, unit: str, what: str, positive: bool = True) -> float:
    parsed = _quantity(value, dimension=dimension, unit=unit, what=what)
    if parsed is None:
        raise DomainError(f"{what} is required")
    if positive and parsed <= 0:
        raise DomainError(f"{what} must be greater than zero")
    return parsed


@dataclass(frozen=True)
class ParsedAmount:
    """An amount of a recipe line: how it is dosed (mass/volume/amount), the value in g/mL/mol, and the text."""

    kind: str
    value: float
    entered_as: str

    @property
    def unit(self) -> str:
        return AMOUNT_UNITS[self.kind]


def _is_bare_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_amount(value: Any, *, bare_kind: str | None = None) -> ParsedAmount:
    """Read "3.74 g", "5 mL", "5.0 uL" or "0.02 mol" as a mass, volume or amount of substance.

    A bare number is read in the unit of ``bare_kind`` (g, mL or mol) when given, else refused. A quantity of any
    other dimension is refused: "expected a mass, a volume or an amount of substance, got a current: 0.9 mA".
    """
    if value is None or isinstance(value, bool):
        raise DomainError(f"expected {_ANY_AMOUNT} (e.g. '3.74 g' or '5 mL'), got nothing")
    text = str(value).strip()
    if isinstance(value, int | float) or _is_bare_number(text):
        if bare_kind is None:
            raise DomainError(f"expected {_ANY_AMOUNT} with a unit (e.g. '3.74 g' or '5 mL'), got {text}")
        text = f"{float(text):g} {AMOUNT_UNITS[bare_kind]}"
    if not text:
        raise DomainError(f"expected {_ANY_AMOUNT} (e.g. '3.74 g' or '5 mL'), got an empty value")
    mismatch = ""
    for kind, dimension, unit in _AMOUNT_DIMENSIONS:
        try:
            q = parse_quantity(text, dimension=dimension, unit=unit, bare_number_ok=False)
        except UnitError as exc:
            message = str(exc)
            if message.startswith(f"expected {DIMENSION_NOUNS[dimension]}, got "):
                if not mismatch:  # "expected a mass, got a current: 0.9 mA" -> name all three dimensions
                    mismatch = message.replace(
                        f"expected {DIMENSION_NOUNS[dimension]}", f"expected {_ANY_AMOUNT}"
                    )
                continue
            raise DomainError(message) from None
        return ParsedAmount(kind=kind, value=q.magnitude, entered_as=str(value).strip() or text)
    raise DomainError(mismatch or f"expected {_ANY_AMOUNT}, got {text!r}")


DIMENSION_NOUNS = {"mass": "a mass", "volume": "a volume", "amount": "an amount of substance"}


def convert_amount(*, chemical: Chemical, kind: str, value: float, to_kind: str) -> float:
    """Convert an amount of ``chemical`` between g, mL and mol: m = rho V, m = n M (and back).

    Refused with a message naming the missing property (density or molar mass).
    """
    if kind == to_kind:
        return value
    unit_from, unit_to = AMOUNT_UNITS[kind], AMOUNT_UNITS[to_kind]

    def need(prop: float | None, what: str) -> float:
        if not prop:
            raise DomainError(
                f"{chemical.name} has no {what} recorded, so {value:g} {unit_from} cannot be converted to "
                f"{unit_to}; record the {what} or give the amount in {unit_to}"
            )
        return prop

    if kind == AmountKind.MASS:
        mass = value
    elif kind == AmountKind.VOLUME:
        mass = value * need(chemical.density, "density")
    else:
        mass = value * need(chemical.molar_mass, "molar mass")
    if to_kind == AmountKind.MASS:
        return mass
    if to_kind == AmountKind.VOLUME:
        return mass / need(chemical.density, "density")
    return mass / need(chemical.molar_mass, "molar mass")


# ------------------------------------------------------------------------------------------------ recipes


def _lock_draft(version: RecipeVersion) -> RecipeVersion:
    """Lock a version row; refuse when it is frozen (a batch used it)."""
    locked = RecipeVersion.objects.select_for_update().select_related("recipe").get(pk=version.pk)
    if locked.is_frozen:
        used_by = Batch.objects.filter(recipe_version=locked).order_by("started_at").first()
        by = f" by batch {used_by.code}" if used_by else ""
        raise ConflictError(
            f"{locked} is frozen: it was used{by} and can no longer change. "
            "Edit it to make a new version instead."
        )
    return locked


def _next_number(recipe: Recipe) -> int:
    current = RecipeVersion.objects.filter(recipe=recipe).aggregate(m=Max("number"))["m"]
    return (current or 0) + 1


def _new_component(
    *,
    version: RecipeVersion,
    actor: Any,
    chemical: Chemical,
    amount: Any,
    role: str = "",
    order: int | None = None,
) -> RecipeComponent:
    parsed = parse_amount(amount)
    role = role or chemical.role
    if role not in ChemicalRole.values:
        raise DomainError(f"unknown role {role!r}")
    if order is None:
        order = (RecipeComponent.objects.filter(version=version).aggregate(m=Max("order"))["m"] or 0) + 1
    component = RecipeComponent(
        version=version,
        chemical=chemical,
        role=role,
        order=order,
        amount_kind=parsed.kind,
        amount=parsed.value,
        entered_as=parsed.entered_as,
        created_by=actor,
    )
    _audited_save(component, actor)
    return component


#: Per step kind: the fields that must be given, and the fields that apply at all.
_STEP_QUANTITIES: dict[str, tuple[str, str]] = {
    "duration": ("time", "s"),
    "temperature": ("temperature", "degC"),
    "wavelength": ("length", "nm"),
    "pressure": ("pressure", "MPa"),
    "ramp_rate": ("heating_rate", "K/min"),
    "dwell": ("time", "s"),
}
_STEP_TEXT = ("atmosphere", "press_mode", "grits")
_ALL_STEP_FIELDS = {*_STEP_QUANTITIES, *_STEP_TEXT, "mother_powder"}
STEP_RULES: dict[str, tuple[tuple[str, ...], set[str]]] = {
    StepKind.DISSOLVE: ((), {"duration", "temperature", "atmosphere"}),
    StepKind.MIX: ((), {"duration", "temperature", "atmosphere"}),
    StepKind.UV_CURE: (("wavelength", "duration"), {"wavelength", "duration", "temperature", "atmosphere"}),
    StepKind.CAST: ((), {"temperature", "atmosphere"}),
    StepKind.DRY: (("duration",), {"duration", "temperature", "atmosphere", "pressure"}),
    StepKind.PRESS: (("pressure", "press_mode"), {"pressure", "press_mode", "duration", "temperature"}),
    StepKind.SINTER: (
        ("temperature", "dwell"),
        {"temperature", "ramp_rate", "dwell", "atmosphere", "mother_powder"},
    ),
    StepKind.SAND: (("grits",), {"grits"}),
    StepKind.OTHER: ((), _ALL_STEP_FIELDS),
}


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_step_fields(kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a step's fields for its kind and convert quantities to their canonical units.

    A UV cure needs a wavelength and a duration; a press a pressure and a mode; a sinter a temperature and a
    dwell; sanding its grits. A field that does not apply to the kind is refused ("a mix step has no
    wavelength"), so a typo never hides in a column nobody reads. "RT" as a temperature is 25 degC.
    """
    if kind not in STEP_RULES:
        raise DomainError(f"unknown step kind {kind!r}; expected one of {', '.join(STEP_RULES)}")
    required, allowed = STEP_RULES[kind]
    label = StepKind(kind).label
    unknown = set(fields) - _ALL_STEP_FIELDS - {"description", "order"}
    if unknown:
        raise DomainError(f"unknown step fields: {', '.join(sorted(unknown))}")
    cleaned: dict[str, Any] = {"description": str(fields.get("description") or "")}
    for name in _ALL_STEP_FIELDS:
        value = fields.get(name)
        if _empty(value):
            if name in required:
                raise DomainError(f"a {label} step needs its {name.replace('_', ' ')}")
            continue
        if name not in allowed:
            raise DomainError(f"a {label} step has no {name.replace('_', ' ')}")
        if name in _STEP_QUANTITIES:
            dimension, unit = _STEP_QUANTITIES[name]
            if name == "temperature" and str(value).strip().lower() in ("rt", "room temperature"):
                value = ROOM_TEMPERATURE_C
            cleaned[name] = _quantity(
                value,
                dimension=dimension,
                unit=unit,
                what=name.replace("_", " "),
                allow_negative=name == "temperature",
            )
        elif name == "press_mode":
            if value not in PressMode.values:
                raise DomainError(f"press mode must be one of {', '.join(PressMode.values)}, got {value!r}")
            cleaned[name] = value
        elif name == "mother_powder":
            cleaned[name] = bool(value)
        else:
            cleaned[name] = str(value).strip()
    return cleaned


def _new_step(
    *, version: RecipeVersion, actor: Any, kind: str, order: int | None = None, **fields: Any
) -> ProcessStep:
    cleaned = clean_step_fields(kind, fields)
    if order is None:
        order = (ProcessStep.objects.filter(version=version).aggregate(m=Max("order"))["m"] or 0) + 1
    step = ProcessStep(version=version, kind=kind, order=order, created_by=actor, **cleaned)
    _audited_save(step, actor)
    return step


def _fill(
    version: RecipeVersion,
    actor: Any,
    components: Sequence[Mapping[str, Any]],
    steps: Sequence[Mapping[str, Any]],
) -> None:
    for i, c in enumerate(components, start=1):
        _new_component(
            version=version,
            actor=actor,
            chemical=c["chemical"],
            amount=c["amount"],
            role=c.get("role") or "",
            order=c.get("order") or i,
        )
    for i, s in enumerate(steps, start=1):
        fields = {k: v for k, v in s.items() if k not in ("kind", "order")}
        _new_step(version=version, actor=actor, kind=s["kind"], order=s.get("order") or i, **fields)


def _copy_contents(source: RecipeVersion) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    components = [
        {
            "chemical": c.chemical,
            "amount": f"{c.amount!r} {AMOUNT_UNITS[c.amount_kind]}",
            "role": c.role,
            "order": c.order,
        }
        for c in source.components.select_related("chemical").order_by("order", "id")
    ]
    steps = [
        {
            "kind": s.kind,
            "order": s.order,
            "description": s.description,
            **{name: getattr(s, name) for name in _ALL_STEP_FIELDS if not _empty(getattr(s, name))},
        }
        for s in source.steps.order_by("order", "id")
    ]
    return components, steps


@transaction.atomic
def create_recipe(
    *,
    team: Team,
    name: str,
    actor: Any,
    description: str = "",
    components: Sequence[Mapping[str, Any]] = (),
    steps: Sequence[Mapping[str, Any]] = (),
    notes: str = "",
) -> Recipe:
    """A new recipe with its version 1 (components: chemical, amount "3.74 g", role, order; typed steps)."""
    _require_researcher(actor, team.pk)
    name = name.strip()
    if not name:
        raise DomainError("a recipe needs a name")
    if Recipe.objects.filter(team=team, name__iexact=name).exists():
        raise ConflictError(f"team {team} already has a recipe named {name!r}")
    recipe = Recipe(team=team, name=name, description=description, created_by=actor)
    _audited_save(recipe, actor)
    version = RecipeVersion(recipe=recipe, number=1, notes=notes, created_by=actor)
    _audited_save(version, actor)
    _fill(version, actor, components, steps)
    return recipe


@transaction.atomic
def update_recipe(
    *, recipe: Recipe, actor: Any, name: str | None = None, description: str | None = None
) -> Recipe:
    """Rename or re-describe a recipe (its versions, frozen or not, are untouched)."""
    _require_researcher(actor, recipe.team_id)
    if name is not None:
        name = name.strip()
        if not name:
            raise DomainError("a recipe needs a name")
        if Recipe.objects.filter(team_id=recipe.team_id, name__iexact=name).exclude(pk=recipe.pk).exists():
            raise ConflictError(f"this team already has a recipe named {name!r}")
        recipe.name = name
    if description is not None:
        recipe.description = description
    _audited_save(recipe, actor)
    return recipe


@transaction.atomic
def new_version(
    *,
    base: RecipeVersion,
    actor: Any,
    notes: str = "",
    components: Sequence[Mapping[str, Any]] | None = None,
    steps: Sequence[Mapping[str, Any]] | None = None,
    recipe: Recipe | None = None,
    filler_fraction: float | None = None,
) -> RecipeVersion:
    """Copy-on-edit: a new version derived from ``base`` (in ``base``'s recipe unless ``recipe`` is given), with
    ``base``'s components and steps unless new ones are given. ``base`` itself never changes."""
    target = recipe or base.recipe
    _require_researcher(actor, target.team_id)
    Recipe.objects.select_for_update().filter(pk=target.pk).first()  # serialise version numbering
    copied_components, copied_steps = _copy_contents(base)
    version = RecipeVersion(
        recipe=target,
        number=_next_number(target),
        notes=notes,
        derived_from=base,
        filler_fraction=filler_fraction,
        created_by=actor,
    )
    _audited_save(version, actor, reason=f"derived from {base}")
    _fill(
        version,
        actor,
        copied_components if components is None else components,
        copied_steps if steps is None else steps,
    )
    return version


@transaction.atomic
def revise_recipe(
    *,
    version: RecipeVersion,
    actor: Any,
    components: Sequence[Mapping[str, Any]],
    steps: Sequence[Mapping[str, Any]],
    notes: str | None = None,
) -> RecipeVersion:
    """Save an edited recipe: a draft version is rewritten in place; a frozen one is never changed and the edit
    becomes a new version derived from it. Returns the version that holds the edit."""
    _require_researcher(actor, version.recipe.team_id)
    current = RecipeVersion.objects.select_for_update().get(pk=version.pk)
    if current.is_frozen:
        return new_version(
            base=current,
            actor=actor,
            notes=notes if notes is not None else f"edited from v{current.number}",
            components=components,
            steps=steps,
        )
    for component in current.components.all():
        component._history_user = actor  # type: ignore[attr-defined]
        component.delete()
    for step in current.steps.all():
        step._history_user = actor  # type: ignore[attr-defined]
        step.delete()
    if notes is not None:
        current.notes = notes
    _audited_save(current, actor, reason="edited")
    _fill(current, actor, components, steps)
    return current


@transaction.atomic
def update_version_notes(*, version: RecipeVersion, actor: Any, notes: str) -> RecipeVersion:
    _require_researcher(actor, version.recipe.team_id)
    locked = _lock_draft(version)
    locked.notes = notes
    _audited_save(locked, actor)
    return locked


@transaction.atomic
def add_component(
    *,
    version: RecipeVersion,
    chemical: Chemical,
    amount: Any,
    actor: Any,
    role: str = "",
    order: int | None = None,
) -> RecipeComponent:
    """Add a line to a draft version ("0.9 g" of MMA as a monomer). Refused on a frozen version."""
    _require_researcher(actor, version.recipe.team_id)
    locked = _lock_draft(version)
    return _new_component(
        version=locked, actor=actor, chemical=chemical, amount=amount, role=role, order=order
    )


@transaction.atomic
def update_component(
    *,
    component: RecipeComponent,
    actor: Any,
    chemical: Chemical | None = None,
    amount: Any = None,
    role: str | None = None,
    order: int | None = None,
) -> RecipeComponent:
    """Change a line of a draft version. Refused on a frozen version."""
    _require_researcher(actor, component.version.recipe.team_id)
    _lock_draft(component.version)
    if chemical is not None:
        component.chemical = chemical
    if amount is not None:
        parsed = parse_amount(amount)
        component.amount_kind, component.amount, component.entered_as = (
            parsed.kind,
            parsed.value,
            parsed.entered_as,
        )
    if role:
        if role not in ChemicalRole.values:
            raise DomainError(f"unknown role {role!r}")
        component.role = role
    if order is not None:
        component.order = order
    _audited_save(component, actor)
    return component


@transaction.atomic
def remove_component(*, component: RecipeComponent, actor: Any) -> None:
    _require_researcher(actor, component.version.recipe.team_id)
    _lock_draft(component.version)
    component._history_user = actor  # type: ignore[attr-defined]
    component.delete()


@transaction.atomic
def add_step(
    *, version: RecipeVersion, kind: str, actor: Any, order: int | None = None, **fields: Any
) -> ProcessStep:
    """Add a typed process step to a draft version (validated per kind). Refused on a frozen version."""
    _require_researcher(actor, version.recipe.team_id)
    locked = _lock_draft(version)
    return _new_step(version=locked, actor=actor, kind=kind, order=order, **fields)


@transaction.atomic
def update_step(*, step: ProcessStep, actor: Any, **changes: Any) -> ProcessStep:
    """Change a step of a draft version; the whole step is validated again for its (possibly new) kind."""
    _require_researcher(actor, step.version.recipe.team_id)
    _lock_draft(step.version)
    kind = changes.pop("kind", None) or step.kind
    order = changes.pop("order", None)
    current = {name: getattr(step, name) for name in _ALL_STEP_FIELDS if not _empty(getattr(step, name))}
    current["description"] = step.description
    current.update(changes)
    cleaned = clean_step_fields(kind, current)
    for name in _ALL_STEP_FIELDS:
        field: Any = ProcessStep._meta.get_field(name)
        setattr(step, name, cleaned.get(name, field.get_default()))
    step.description = cleaned["description"]
    step.kind = kind
    if order is not None:
        step.order = order
    _audited_save(step, actor)
    return step


@transaction.atomic
def remove_step(*, step: ProcessStep, actor: Any) -> None:
    _require_researcher(actor, step.version.recipe.team_id)
    _lock_draft(step.version)
    step._history_user = actor  # type: ignore[attr-defined]
    step.delete()


@transaction.atomic
def filler_series(
    *,
    base: RecipeVersion,
    filler: Chemical,
    actor: Any,
    fractions: Sequence[float] = domain.DEFAULT_FILLER_FRACTIONS,
    recipe_name: str | None = None,
) -> list[RecipeVersion]:
    """One recipe version per filler weight fraction (e.g. 0/20/40/60 wt% LLZTO) on the precursor ``base``.

    Filler mass for fraction w: m_f = w m_p / (1 - w), with m_p the precursor mass (so that w = m_f / (m_f + m_p));
    for the PMA precursor (10.5234 g) 20 wt% is 0.2 x 10.5234 / 0.8 = 2.6309 g. The versions go into the recipe
    ``recipe_name`` (default "<filler>-<precursor>", e.g. "LLZTO-PMA") of the same team, each derived from
    ``base`` and labelled with its fraction. An existing version of that recipe with the same fraction and base
    is reused, so running the series twice creates nothing new.
    """
    _require_researcher(actor, base.recipe.team_id)
    components = list(base.components.select_related("chemical").order_by("order", "id"))
    precursor = recipe_components_as_domain(components)
    template = as_domain_component(
        name=chemical_label(filler),
        role=ChemicalRole.CERAMIC_FILLER,
        chemical=filler,
        amount_kind=AmountKind.MASS,
        amount=0.0,
    )
    variants = _calc(domain.filler_series, precursor, template, [float(w) for w in fractions])
    name = recipe_name or f"{chemical_label(filler)}-{base.recipe.name}"
    recipe = Recipe.objects.filter(team_id=base.recipe.team_id, name=name).first()
    if recipe is None:
        recipe = Recipe(
            team_id=base.recipe.team_id,
            name=name,
            description=f"{base.recipe.name} with {chemical_label(filler)} filler series",
            created_by=actor,
        )
        _audited_save(recipe, actor)
    existing = {
        round(v.filler_fraction or 0.0, 9): v
        for v in RecipeVersion.objects.filter(recipe=recipe, derived_from=base, filler_fraction__isnull=False)
    }
    _, steps = _copy_contents(base)
    next_order = max((c.order for c in components), default=0) + 1
    result = []
    for variant in variants:
        found = existing.get(round(variant.weight_fraction, 9))
        if found is not None:
            result.append(found)
            continue
        lines = [
            {
                "chemical": c.chemical,
                "amount": f"{c.amount!r} {AMOUNT_UNITS[c.amount_kind]}",
                "role": c.role,
                "order": c.order,
            }
            for c in components
        ]
        lines.append(
            {
                "chemical": filler,
                "amount": f"{variant.filler_mass_g!r} g",
                "role": ChemicalRole.CERAMIC_FILLER,
                "order": next_order,
            }
        )
        result.append(
            new_version(
                base=base,
                actor=actor,
                recipe=recipe,
                notes=f"{variant.weight_fraction * 100:g} wt% {chemical_label(filler)}",
                components=lines,
                steps=steps,
                filler_fraction=variant.weight_fraction,
            )
        )
    return result


# ------------------------------------------------------------------------------------------------ batches


@dataclass(frozen=True)
class Draw:
    """What was weighed for one recipe line: the amount as typed and the lot it came from."""

    component: RecipeComponent
    lot: StockLot
    amount: ParsedAmount
    actual: float  # in the recipe line's unit
    planned: float  # in the recipe line's unit
    check: domain.DeviationCheck
    override_reason: str = ""


def scale_factor_for(version: RecipeVersion, *, scale_factor: Any = None, target_mass: Any = None) -> float:
    """The batch scale: given directly, or from a target batch mass k = m_target / m_recipe (1 when neither)."""
    if target_mass not in (None, ""):
        target = _required(target_mass, dimension="mass", unit="g", what="batch size")
        components = list(version.components.select_related("chemical"))
        total = _calc(domain.total_mass_g, recipe_components_as_domain(components))
        if total <= 0:
            raise DomainError("the recipe has zero total mass and cannot be scaled to a batch size")
        return float(target / total)
    if scale_factor in (None, ""):
        return 1.0
    try:
        k = float(scale_factor)
    except (TypeError, ValueError):
        raise DomainError(f"the scale factor must be a number, got {scale_factor!r}") from None
    if not math.isfinite(k) or k <= 0:
        raise DomainError("the scale factor must be greater than zero")
    return k


def check_actual_amount(
    *, component: RecipeComponent, amount: Any, scale_factor: float, tolerance: float = DEFAULT_TOLERANCE
) -> tuple[ParsedAmount, float, domain.DeviationCheck]:
    """Read an actual amount for a recipe line (any of g/mL/mol, through the chemical's density or molar mass)
    and compare it with the planned amount (recipe x scale): d = (actual - planned) / planned."""
    parsed = parse_amount(amount, bare_kind=component.amount_kind)
    actual = convert_amount(
        chemical=component.chemical, kind=parsed.kind, value=parsed.value, to_kind=component.amount_kind
    )
    planned = component.amount * scale_factor
    check = _calc(domain.check_deviation, actual, planned, tolerance, chemical_label(component.chemical))
    return parsed, actual, check


@transaction.atomic
def record_batch(
    *,
    version: RecipeVersion,
    actor: Any,
    draws: Sequence[Mapping[str, Any]],
    scale_factor: Any = None,
    target_mass: Any = None,
    tolerance: float = DEFAULT_TOLERANCE,
    operator: Any = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    conditions: str = "",
    notes: str = "",
    code: str | None = None,
) -> Batch:
    """Record one synthesis run of ``version`` and draw every component from its lot, all or nothing.

    ``draws``: one per recipe line {"component", "lot", "amount" ("0.9 mL", "3.74 g"), "override_reason"}; a line
    planned at 0 (the 0 wt% filler) may be left out. Each actual amount is compared with the planned one
    (recipe x scale) and flagged above ``tolerance`` (default 0.02 = 2 %). The draws consume the lots through
    ``consume_from_lot`` inside this one transaction: if any draw is refused (too little on hand, an expired lot)
    the exception rolls every other draw back, so no lot and no ledger changes. The version is frozen.
    """
    locked_version = RecipeVersion.objects.select_for_update().select_related("recipe").get(pk=version.pk)
    team_id = locked_version.recipe.team_id
    _require_researcher(actor, team_id)
    tolerance = float(tolerance)
    if not (0 <= tolerance < 1):
        raise DomainError("the deviation tolerance must be between 0 and 1 (e.g. 0.02 for 2 %)")
    if ended_at is not None and started_at is not None and ended_at < started_at:
        raise DomainError("the batch cannot end before it started")
    refuse_future(started_at, what="the batch start")
    refuse_future(ended_at, what="the batch end")
    k = scale_factor_for(locked_version, scale_factor=scale_factor, target_mass=target_mass)
    components = {c.pk: c for c in locked_version.components.select_related("chemical")}
    if not components:
        raise DomainError(f"{locked_version} has no components to weigh")

    lot_ids = {_pk(d.get("lot")) for d in draws if d.get("lot") is not None}
    lots = StockLot.objects.select_related("chemical").in_bulk(lot_ids)
    planned_draws: list[Draw] = []
    seen: set[int] = set()
    for d in draws:
        component = components.get(_pk(d.get("component")))
        if component is None:
            raise DomainError(f"recipe line {d.get('component')!r} is not part of {locked_version}")
        if component.pk in seen:
            raise DomainError(f"{chemical_label(component.chemical)} is entered twice")
        seen.add(component.pk)
        label = chemical_label(component.chemical)
        amount = d.get("amount")
        if _empty(amount) and component.amount * k == 0:
            continue
        if _empty(amount):
            raise DomainError(f"{label}: enter the amount actually weighed")
        try:
            parsed, actual, check = check_actual_amount(
                component=component, amount=amount, scale_factor=k, tolerance=tolerance
            )
        except DomainError as exc:
            raise DomainError(f"{label}: {exc}") from None
        if actual == 0 and check.planned == 0:
            continue
        lot = lots.get(_pk(d.get("lot")))
        if lot is None:
            raise DomainError(f"{label}: choose the lot it was taken from")
        if lot.chemical_id != component.chemical_id:
            raise DomainError(
                f"{label}: lot {lot.code} holds {lot.chemical.name}, not {component.chemical.name}"
            )
        planned_draws.append(
            Draw(
                component=component,
                lot=lot,
                amount=parsed,
                actual=actual,
                planned=check.planned,
                check=check,
                override_reason=str(d.get("override_reason") or ""),
            )
        )
    missing = [
        chemical_label(c.chemical) for pk, c in components.items() if pk not in seen and c.amount * k > 0
    ]
    if missing:
        raise DomainError(f"no amount entered for {', '.join(missing)}")

    batch = Batch(
        team_id=team_id,
        code=code or new_code("B", lambda c: Batch.objects.filter(code=c).exists()),
        recipe_version=locked_version,
        operator=operator or actor,
        started_at=started_at or timezone.now(),
        ended_at=ended_at,
        scale_factor=k,
        status=BatchStatus.COMPLETED,
        conditions=conditions,
        notes=notes,
        deviation_tolerance=tolerance,
        created_by=actor,
    )
    _audited_save(batch, actor)
    # Lock lots in a fixed order (by id) so two batches drawing from the same lots cannot deadlock.
    for draw in sorted(planned_draws, key=lambda dr: dr.lot.pk):
        label = chemical_label(draw.component.chemical)
        text = (
            draw.amount.entered_as
            if not _is_bare_number(draw.amount.entered_as)
            else (f"{draw.amount.value!r} {draw.amount.unit}")
        )
        try:
            tx = consume_from_lot(
                lot=draw.lot.pk,
                amount=text,
                actor=actor,
                reason=f"batch {batch.code}",
                purpose=f"{label} for batch {batch.code} ({locked_version})",
                batch=batch,
                override_reason=draw.override_reason,
            )
        except ConflictError as exc:
            raise ConflictError(f"{label}: {exc}. Nothing was drawn.") from None
        except DomainError as exc:
            raise DomainError(f"{label}: {exc}. Nothing was drawn.") from None
        try:
            mass: float | None = convert_amount(
                chemical=draw.component.chemical,
                kind=draw.component.amount_kind,
                value=draw.actual,
                to_kind=AmountKind.MASS,
            )
        except DomainError:
            mass = None
        row = BatchComponent(
            batch=batch,
            recipe_component=draw.component,
            lot=draw.lot,
            planned_amount=draw.planned,
            actual_amount=draw.actual,
            actual_mass=mass,
            entered_as=draw.amount.entered_as,
            deviation=draw.check.relative_deviation,
            flagged=draw.check.flagged,
            transaction=tx,
            created_by=actor,
        )
        _audited_save(row, actor)
    batch.filler_fraction = _actual_filler_fraction(batch)
    _audited_save(batch, actor, update_fields=["filler_fraction", "updated_at"])
    if locked_version.frozen_at is None:
        locked_version.frozen_at = timezone.now()
        _audited_save(locked_version, actor, reason=f"frozen: used by batch {batch.code}")
    return batch


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)


def _actual_filler_fraction(batch: Batch) -> float | None:
    """Filler wt% of what was actually weighed: m_filler / (m_filler + m_precursor); None without a filler."""
    rows = list(batch.components.select_related("recipe_component", "recipe_component__chemical"))
    if not any(r.recipe_component.role == ChemicalRole.CERAMIC_FILLER for r in rows):
        version_filler = batch.recipe_version.filler_fraction
        return 0.0 if version_filler == 0 else None
    try:
        summary = domain.summarise(batch_components_as_domain(rows))
    except CompositionError:
        return None
    return summary.filler_weight_fraction


@transaction.atomic
def cancel_batch(*, batch: Batch, actor: Any, reason: str) -> Batch:
    """Cancel a batch with a reason. Its draws stay in the ledger (the material was used); it is never deleted."""
    _require_researcher(actor, batch.team_id)
    if not reason or not reason.strip():
        raise DomainError("cancelling a batch needs a reason")
    locked = Batch.objects.select_for_update().get(pk=batch.pk)
    if locked.status == BatchStatus.CANCELLED:
        raise ConflictError(f"batch {locked.code} is already cancelled")
    locked.status = BatchStatus.CANCELLED
    locked.cancel_reason = reason.strip()
    _audited_save(locked, actor, reason=f"cancelled: {reason.strip()}")
    return locked


@transaction.atomic
def update_batch(
    *, batch: Batch, actor: Any, notes: str | None = None, conditions: str | None = None, ended_at: Any = None
) -> Batch:
    """Add notes, the conditions actually used, or the end time to a batch (its draws never change)."""
    _require_researcher(actor, batch.team_id)
    locked = Batch.objects.select_for_update().get(pk=batch.pk)
    if notes is not None:
        locked.notes = notes
    if conditions is not None:
        locked.conditions = conditions
    if ended_at is not None:
        if ended_at < locked.started_at:
            raise DomainError("the batch cannot end before it started")
        refuse_future(ended_at, what="the batch end")
        locked.ended_at = ended_at
    _audited_save(locked, actor)
    return locked


def delete_batch(*, batch: Batch, actor: Any) -> None:
    """Refused: a batch whose draws are in the ledger or from which something was made is never deleted."""
    _require_researcher(actor, batch.team_id)
    made = batch.membranes.count()
    if made:
        raise ConflictError(
            f"batch {batch.code} cannot be deleted: {made} membrane(s) were made from it. "
            "Cancel it with a reason instead."
        )
    raise ConflictError(
        f"batch {batch.code} cannot be deleted: its draws are in the stock ledger. Cancel it with a reason instead."
    )


@transaction.atomic
def attach_batch_file(
    *, batch: Batch, file: Any, actor: Any, kind: str = "photo", caption: str = ""
) -> Attachment:
    """Attach a file (a photo of the precursor, a weighing slip) to a batch."""
    from django.contrib.contenttypes.models import ContentType

    _require_researcher(actor, batch.team_id)
    attachment = Attachment(
        content_type=ContentType.objects.get_for_model(Batch),
        object_id=batch.pk,
        file=file,
        kind=kind,
        caption=caption,
        team_id=batch.team_id,
        created_by=actor,
    )
    _audited_save(attachment, actor)
    return attachment


# ------------------------------------------------------------------------------------------------ moulds


@transaction.atomic
def create_mould(
    *,
    name: str,
    area: Any,
    actor: Any,
    shape: str = MouldShape.RECTANGLE,
    material: str = "glass",
    notes: str = "",
) -> Mould:
    """A reusable mould (shared by every team): its area is what turns a cast mass into a thickness."""
    _require_any_researcher(actor)
    if Mould.objects.filter(name__iexact=name.strip()).exists():
        raise ConflictError(f"a mould named {name.strip()!r} exists already")
    if shape not in MouldShape.values:
        raise DomainError(f"shape must be one of {', '.join(MouldShape.values)}")
    mould = Mould(
        name=name.strip(),
        area=_required(area, dimension="area", unit="cm**2", what="mould area"),
        shape=shape,
        material=material,
        notes=notes,
        created_by=actor,
    )
    _audited_save(mould, actor)
    return mould


@transaction.atomic
def update_mould(
    *,
    mould: Mould,
    actor: Any,
    name: str | None = None,
    material: str | None = None,
    notes: str | None = None,
) -> Mould:
    """Rename or annotate a mould. Its area cannot change once a membrane was cast in it (their thickness
    depends on it): make a new mould instead."""
    _require_any_researcher(actor)
    if name is not None:
        mould.name = name.strip()
    if material is not None:
        mould.material = material
    if notes is not None:
        mould.notes = notes
    _audited_save(mould, actor)
    return mould


# ------------------------------------------------------------------------------------------------ membranes


def estimate_batch_density(batch: Batch) -> float:
    """Slurry density ESTIMATE from what was weighed, by ideal mixing: 1/rho = sum_i w_i / rho_i."""
    rows = list(batch.components.select_related("recipe_component", "recipe_component__chemical"))
    if not rows:
        raise DomainError(f"batch {batch.code} has no weighed components to estimate a density from")
    try:
        return domain.estimated_slurry_density_g_per_mL(batch_components_as_domain(rows))
    except CompositionError as exc:
        raise DomainError(f"{exc}; or enter the measured slurry density") from None


def _cure_defaults(version: RecipeVersion) -> dict[str, Any]:
    step = version.steps.filter(kind=StepKind.UV_CURE).order_by("order").first()
    if step is None:
        return {}
    return {
        "cure_wavelength": step.wavelength,
        "cure_duration": step.duration,
        "cure_temperature": step.temperature,
        "cure_atmosphere": step.atmosphere,
    }


@transaction.atomic
def cast_membrane(
    *,
    batch: Batch,
    mould: Mould,
    cast_mass: Any,
    actor: Any,
    slurry_density: Any = None,
    thickness_measured: Any = None,
    cured_at: datetime | None = None,
    cure_wavelength: Any = None,
    cure_duration: Any = None,
    cure_temperature: Any = None,
    cure_atmosphere: str | None = None,
    appearance: str = "",
    notes: str = "",
    code: str | None = None,
) -> Membrane:
    """A membrane cast from ``batch`` into ``mould``: thickness t = m / (rho A) x 10^4 um/cm.

    e.g. 1.2 g of slurry at 1.2 g/mL in a 20 cm2 mould: t = 1.2 / (1.2 x 20) cm = 0.05 cm = 500 um. Without a
    measured slurry density it is estimated from the batch's components (ideal mixing) and labelled so. Cure
    conditions default to the recipe's UV cure step; filler wt% comes from the batch.
    """
    _require_researcher(actor, batch.team_id)
    if batch.status == BatchStatus.CANCELLED:
        raise ConflictError(f"batch {batch.code} was cancelled; nothing can be cast from it")
    refuse_future(cured_at, what="the cure time")
    mass = _required(cast_mass, dimension="mass", unit="g", what="cast mass")
    density = _quantity(slurry_density, dimension="density", unit="g/mL", what="slurry density")
    estimated = density is None
    if density is None:
        density = estimate_batch_density(batch)
    elif density <= 0:
        raise DomainError("slurry density must be greater than zero")
    thickness = _calc(domain.thickness_from_cast_mass_um, mass, density, mould.area)
    measured = _quantity(thickness_measured, dimension="length", unit="um", what="measured thickness")
    cure: dict[str, Any] = {
        "cure_wavelength": _quantity(cure_wavelength, dimension="length", unit="nm", what="cure wavelength"),
        "cure_duration": _quantity(cure_duration, dimension="time", unit="s", what="cure duration"),
        "cure_temperature": _quantity(
            ROOM_TEMPERATURE_C if str(cure_temperature).strip().lower() == "rt" else cure_temperature,
            dimension="temperature",
            unit="degC",
            what="cure temperature",
            allow_negative=True,
        ),
        "cure_atmosphere": cure_atmosphere,
    }
    if all(_empty(v) for v in cure.values()):
        cure = _cure_defaults(batch.recipe_version)
    membrane = Membrane(
        team_id=batch.team_id,
        code=code or new_code("M", lambda c: Membrane.objects.filter(code=c).exists()),
        batch=batch,
        mould=mould,
        cast_mass=mass,
        slurry_density=density,
        slurry_density_estimated=estimated,
        thickness_from_mass=thickness,
        thickness_measured=measured,
        cured_at=cured_at or timezone.now(),
        appearance=appearance,
        filler_fraction=batch.filler_fraction,
        notes=notes,
        created_by=actor,
        **{k: ("" if k == "cure_atmosphere" and v is None else v) for k, v in cure.items()},
    )
    _audited_save(membrane, actor)
    return membrane


_UNSET: Any = object()


@transaction.atomic
def update_membrane(
    *,
    membrane: Membrane,
    actor: Any,
    thickness_measured: Any = _UNSET,
    appearance: str | None = None,
    notes: str | None = None,
    reason: str = "",
) -> Membrane:
    """Record the measured thickness (micrometer), the appearance or notes; the derived thickness stays.

    ``reason`` ("re-measured with the micrometer at 5 points") is kept on the history row."""
    _require_researcher(actor, membrane.team_id)
    if thickness_measured is not _UNSET:
        membrane.thickness_measured = _quantity(
            thickness_measured, dimension="length", unit="um", what="measured thickness"
        )
    if appearance is not None:
        membrane.appearance = appearance
    if notes is not None:
        membrane.notes = notes
    _audited_save(membrane, actor, reason)
    return membrane


# ------------------------------------------------------------------------------------------------ pellets


@transaction.atomic
def make_pellet(
    *,
    team: Team,
    lot: StockLot,
    powder_mass: Any,
    press_pressure: Any,
    sinter_temperature: Any,
    sinter_dwell: Any,
    final_diameter: Any,
    final_thickness: Any,
    final_mass: Any,
    actor: Any,
    press_mode: str = PressMode.ISOSTATIC,
    sinter_ramp: Any = None,
    sinter_atmosphere: str = "air",
    mother_powder: bool = True,
    sanding_grits: str = "",
    green_diameter: Any = None,
    green_thickness: Any = None,
    made_at: datetime | None = None,
    notes: str = "",
    code: str | None = None,
    override_reason: str = "",
) -> Pellet:
    """Press and sinter a pellet from a powder lot (the powder mass is drawn from the lot).

    Geometric density rho = m / (pi (d/2)^2 t) and relative density rho / rho_theoretical (the chemical's
    theoretical density; None when it is not recorded). e.g. 0.5 g, 10 mm x 1.5 mm: V = pi x 0.5^2 x 0.15 =
    0.11781 cm3, rho = 4.244 g/cm3, relative to 5.1 g/cm3: 0.832.
    """
    _require_researcher(actor, team.pk)
    refuse_future(made_at, what="the pellet's date")
    if press_mode not in PressMode.values:
        raise DomainError(f"press mode must be one of {', '.join(PressMode.values)}")
    powder = _required(powder_mass, dimension="mass", unit="g", what="powder mass")
    final_m = _required(final_mass, dimension="mass", unit="g", what="final mass")
    if final_m > powder * (1 + 1e-9):
        raise DomainError(
            f"the final pellet ({final_m:g} g) weighs more than the powder pressed ({powder:g} g); check the weighings"
        )
    d = _required(final_diameter, dimension="length", unit="mm", what="final diameter")
    t = _required(final_thickness, dimension="length", unit="mm", what="final thickness")
    rho = _calc(domain.geometric_density_g_per_cm3, final_m, d, t)
    theoretical = lot.chemical.theoretical_density
    relative = _calc(domain.relative_density, rho, theoretical) if theoretical else None
    pellet_code = code or new_code("P", lambda c: Pellet.objects.filter(code=c).exists())
    pellet = Pellet(
        team=team,
        code=pellet_code,
        lot=lot,
        powder_mass=powder,
        press_pressure=_required(press_pressure, dimension="pressure", unit="MPa", what="pressing pressure"),
        press_mode=press_mode,
        sinter_temperature=_required(
            sinter_temperature, dimension="temperature", unit="degC", what="sintering temperature"
        ),
        sinter_ramp=_quantity(sinter_ramp, dimension="heating_rate", unit="K/min", what="heating ramp"),
        sinter_dwell=_required(sinter_dwell, dimension="time", unit="s", what="sintering dwell"),
        sinter_atmosphere=sinter_atmosphere,
        mother_powder=mother_powder,
        sanding_grits=sanding_grits,
        green_diameter=_quantity(green_diameter, dimension="length", unit="mm", what="green diameter"),
        green_thickness=_quantity(green_thickness, dimension="length", unit="mm", what="green thickness"),
        final_diameter=d,
        final_thickness=t,
        final_mass=final_m,
        geometric_density=rho,
        relative_density=relative,
        made_at=made_at or timezone.now(),
        notes=notes,
        created_by=actor,
    )
    pellet.transaction = consume_from_lot(
        lot=lot.pk,
        amount=f"{powder!r} g",
        actor=actor,
        reason=f"pellet {pellet_code}",
        purpose=f"pressed into pellet {pellet_code}",
        for_team_id=pellet.team_id,
        override_reason=override_reason,
    )
    _audited_save(pellet, actor)
    return pellet


@transaction.atomic
def update_pellet(
    *, pellet: Pellet, actor: Any, notes: str | None = None, sanding_grits: str | None = None
) -> Pellet:
    _require_researcher(actor, pellet.team_id)
    if notes is not None:
        pellet.notes = notes
    if sanding_grits is not None:
        pellet.sanding_grits = sanding_grits
    _audited_save(pellet, actor)
    return pellet


# ------------------------------------------------------------------------------------------------ electrodes


@transaction.atomic
def make_electrode(
    *,
    team: Team,
    active_lot: StockLot,
    active_fraction: float,
    actor: Any,
    area: Any = None,
    diameter: Any = None,
    loading: Any = None,
    coating_mass: Any = None,
    conductive_fraction: float = 0.0,
    binder_fraction: float = 0.0,
    conductive_lot: StockLot | None = None,
    binder_lot: StockLot | None = None,
    made_at: datetime | None = None,
    notes: str = "",
    code: str | None = None,
    override_reason: str = "",
) -> Electrode:
    """A cathode sheet or disc. Active mass from the active loading, m = L [mg/cm2] x A [cm2] / 1000, or from the
    weighed coating, m = m_coating x f_active; the area is given or from a disc diameter, A = pi (d/20)^2 cm2.

    e.g. LFP at 2.0 mg/cm2 on a 12 mm disc: A = 1.131 cm2, m = 2.262 mg; 1 C = 2.262 mg x 170 mAh/g = 0.385 mA.
    """
    _require_researcher(actor, team.pk)
    refuse_future(made_at, what="the electrode's date")
    for lot in (active_lot, conductive_lot, binder_lot):
        if lot is not None:  # nothing is drawn, but an expired or quarantined lot needs a manager's reason
            check_lot_usable(lot, actor=actor, override_reason=override_reason)
    fractions = {"active": active_fraction, "conductive": conductive_fraction, "binder": binder_fraction}
    _calc(domain.check_composition_fractions, {k: float(v) for k, v in fractions.items()})
    area_cm2 = _quantity(area, dimension="area", unit="cm**2", what="electrode area")
    if area_cm2 is None:
        if _empty(diameter):
            raise DomainError("give the electrode area or the disc diameter")
        area_cm2 = _calc(
            domain.disc_area_cm2, _required(diameter, dimension="length", unit="mm", what="disc diameter")
        )
    if area_cm2 <= 0:
        raise DomainError("electrode area must be greater than zero")
    loading_v = _quantity(loading, dimension="areal_mass", unit="mg/cm**2", what="active loading")
    coating_v = _quantity(coating_mass, dimension="mass", unit="g", what="coating mass")
    if (loading_v is None) == (coating_v is None):
        raise DomainError("give either the active loading (mg/cm2) or the weighed coating mass, not both")
    if loading_v is not None:
        active_mass = _calc(domain.active_mass_from_loading_g, loading_v, area_cm2)
    else:
        assert coating_v is not None
        active_mass = _calc(
            domain.active_mass_from_weighed_electrode_g, coating_v, 0.0, float(active_fraction)
        )
    electrode = Electrode(
        team=team,
        code=code or new_code("E", lambda c: Electrode.objects.filter(code=c).exists()),
        active_lot=active_lot,
        conductive_lot=conductive_lot,
        binder_lot=binder_lot,
        active_fraction=float(active_fraction),
        conductive_fraction=float(conductive_fraction),
        binder_fraction=float(binder_fraction),
        loading=loading_v,
        coating_mass=coating_v,
        area=area_cm2,
        active_mass=active_mass,
        made_at=made_at or timezone.now(),
        notes=notes,
        created_by=actor,
    )
    _audited_save(electrode, actor)
    return electrode


@transaction.atomic
def update_electrode(*, electrode: Electrode, actor: Any, notes: str | None = None) -> Electrode:
    _require_researcher(actor, electrode.team_id)
    if notes is not None:
        electrode.notes = notes
    _audited_save(electrode, actor)
    return electrode
