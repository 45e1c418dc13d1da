"""Reads of the inventory: querysets built once with their joins, shared by the pages, the API and the dashboard."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from formulations.models import (
    Chemical,
    ChemicalSynonym,
    LotStatus,
    StockLot,
    StockTransaction,
    StockUnit,
    StorageLocation,
    Supplier,
)
from lims.permissions import team_ids_for
from lims.queries import without_bookkeeping


def lot_list() -> QuerySet[StockLot]:
    """Lots with their chemical, supplier and location (one query for a page of lots)."""
    qs = StockLot.objects.select_related("chemical", "supplier", "location__parent__parent__parent")
    return without_bookkeeping(
        qs,
        "chemical",
        "supplier",
        "location",
        "location__parent",
        "location__parent__parent",
        "location__parent__parent__parent",
    )


def lot_detail(pk: int) -> StockLot:
    return lot_list().get(pk=pk)


def lot_by_code(code: str) -> StockLot | None:
    """The lot a scanned label names; codes are matched without regard to case or surrounding blanks."""
    text = (code or "").strip().upper()
    if not text:
        return None
    return lot_list().filter(code=text).first()


def ledger() -> QuerySet[StockTransaction]:
    qs = StockTransaction.objects.select_related("lot", "lot__chemical", "actor", "override_by", "batch")
    return without_bookkeeping(qs, "lot", "lot__chemical", "actor", "override_by", "batch")


def ledger_rows_for_api() -> QuerySet[StockTransaction]:
    """The API's ledger (StockTransactionSerializer): the rows and the lot code, lot unit and user names they
    print; the batch is answered as an id and the lot's chemical is not shown, so neither is joined."""
    own = [f.name for f in StockTransaction._meta.concrete_fields]
    return StockTransaction.objects.select_related("lot", "actor", "override_by").only(
        *own, "lot__code", "lot__quantity_unit", "actor__username", "override_by__username"
    )


def ledger_of(lot: StockLot) -> QuerySet[StockTransaction]:
    return (
        StockTransaction.objects.filter(lot=lot)
        .select_related("actor", "override_by", "batch")
        .order_by("id")
    )


#: what a ledger row drawn into another team's batch, pellet or cell says instead of its reason and purpose
OTHER_TEAMS_DRAW = "drawn for another team's record"

#: the columns of such a row as anyone outside that team (but staff) reads them
HIDDEN_DRAW_COLUMNS = {"reason": "", "purpose": OTHER_TEAMS_DRAW, "batch_id": None}


def hidden_from(for_team_id: int | None, team_ids: set[int] | None) -> bool:
    """Whether a ledger row drawn for ``for_team_id`` is hidden from a person of ``team_ids`` (None: staff)."""
    return team_ids is not None and for_team_id is not None and for_team_id not in team_ids


def hide_draws_in_rows(rows: list[list[Any]], team_ids: list[int] | None, column: Any) -> None:
    """``ledger_as_seen_by`` for ledger rows read as lists of columns (the API's hot read, lims.api.rows):
    ``column(path)`` is the position of a column in a row."""
    if team_ids is None:
        return
    mine = set(team_ids)
    team = column("for_team_id")
    hidden = [(column(path), value) for path, value in HIDDEN_DRAW_COLUMNS.items()]
    for row in rows:
        if hidden_from(row[team], mine):
            for i, value in hidden:
                row[i] = value


def ledger_as_seen_by(rows: Iterable[StockTransaction], user: Any) -> list[StockTransaction]:
    """Ledger rows as this user may read them. The ledger of a shared lot is everyone's, but a draw into a team's
    batch, pellet or cell names that record (its code, its recipe) in its reason and purpose, and team records are
    for their team. Such a row keeps its amount, balance, time and who drew it; its reason and batch are blanked
    and its purpose reads ``OTHER_TEAMS_DRAW``, for anyone outside that team but staff. The instances are
    changed in place (they are read, never saved, by the views)."""
    out = list(rows)
    if user is not None and user.is_authenticated and user.is_staff:
        return out
    mine = set(team_ids_for(user))
    for tx in out:
        if hidden_from(tx.for_team_id, mine):
            for name, value in HIDDEN_DRAW_COLUMNS.items():
                setattr(tx, name, value)
            tx.batch = None  # the cached record too, not only its key
    return out


def ledger_sum(lot: StockLot | int) -> float:
    """The sum of a lot's ledger, which must equal its on-hand quantity."""
    pk = lot.pk if isinstance(lot, StockLot) else lot
    total = StockTransaction.objects.filter(lot_id=pk).aggregate(total=Sum("quantity"))["total"]
    return float(total or 0.0)


def usable_lots(chemical: Chemical | int | None = None) -> QuerySet[StockLot]:
    """Lots offered for consumption (lot pickers): available, in date, with something left."""
    qs = (
        lot_list()
        .filter(status=LotStatus.AVAILABLE, quantity_on_hand__gt=0)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=timezone.localdate()))
    )
    if chemical is not None:
        qs = qs.filter(chemical=chemical)
    return qs.order_by("expires_on", "received_on", "code")  # first expiring first


def expiring_lots(*, within_days: int | None = None, today: date | None = None) -> QuerySet[StockLot]:
    """Available lots expiring within ``within_days`` (default settings.LIMS_EXPIRY_WARNING_DAYS)."""
    today = today or timezone.localdate()
    days = settings.LIMS_EXPIRY_WARNING_DAYS if within_days is None else within_days
    return (
        lot_list()
        .filter(
            status=LotStatus.AVAILABLE, expires_on__gte=today, expires_on__lte=today + timedelta(days=days)
        )
        .order_by("expires_on", "code")
    )


def expired_lots(*, today: date | None = None) -> QuerySet[StockLot]:
    """Lots marked expired, and available lots past their date that the daily task has not marked yet."""
    today = today or timezone.localdate()
    return (
        lot_list()
        .filter(Q(status=LotStatus.EXPIRED) | Q(status=LotStatus.AVAILABLE, expires_on__lt=today))
        .filter(quantity_on_hand__gt=0)
        .order_by("expires_on", "code")
    )


def _on_hand_g_expression() -> Any:
    """Grams on hand of a chemical's usable lots: lots kept in mL count through the density (none: not counted)."""
    usable = Q(lots__status=LotStatus.AVAILABLE)
    grams = Case(
        When(usable & Q(lots__quantity_unit=StockUnit.GRAM), then=F("lots__quantity_on_hand")),
        When(
            usable & Q(lots__quantity_unit=StockUnit.MILLILITRE, density__isnull=False),
            then=F("lots__quantity_on_hand") * F("density"),
        ),
        default=Value(0.0),
        output_field=FloatField(),
    )
    return Coalesce(Sum(grams), Value(0.0), output_field=FloatField())


def chemical_list() -> QuerySet[Chemical]:
    """Chemicals with their synonyms, the number of usable lots and the grams on hand (``on_hand_g``)."""
    return Chemical.objects.prefetch_related(
        Prefetch("synonyms", queryset=ChemicalSynonym.objects.order_by("name"))
    ).annotate(
        on_hand_g=_on_hand_g_expression(),
        usable_lot_count=Count("lots", filter=Q(lots__status=LotStatus.AVAILABLE), distinct=True),
    )


def low_stock_chemicals() -> QuerySet[Chemical]:
    """Chemicals with a threshold whose usable lots hold less than it (in g), and chemicals without a threshold
    that the lab has stocked (some lot was received) but whose usable lots now hold nothing: out of stock."""
    stocked = Exists(StockLot.objects.filter(chemical=OuterRef("pk")))
    below = Q(low_stock_threshold__isnull=False, on_hand_g__lt=F("low_stock_threshold"))
    out = Q(low_stock_threshold__isnull=True, on_hand_g__lte=0.0) & Q(stocked)
    return chemical_list().filter(below | out).order_by("name")  # on_hand_g: an annotation, not a model field


def chemical_search_q(text: str) -> Q:
    """Matches a name, an abbreviation, a synonym ("NMMAm" = "NMMA" = "N-methyl methacrylamide") or a CAS number."""
    text = text.strip()
    lower = text.lower()
    return (
        Q(name__icontains=text)
        | Q(abbreviation__iexact=text)
        | Q(abbreviation__icontains=text)
        | Q(cas_number=text)
        | Q(pk__in=ChemicalSynonym.objects.filter(name_lower__contains=lower).values("chemical_id"))
    )


def find_chemicals(text: str) -> QuerySet[Chemical]:
    if not text.strip():
        return Chemical.objects.none()
    return Chemical.objects.filter(chemical_search_q(text)).prefetch_related("synonyms").order_by("name")


def chemical_detail(pk: int) -> Chemical:
    return chemical_list().get(pk=pk)


def lots_of_chemical(chemical: Chemical) -> QuerySet[StockLot]:
    return lot_list().filter(chemical=chemical).order_by("status", "expires_on", "code")


def supplier_list() -> QuerySet[Supplier]:
    return Supplier.objects.annotate(lot_count=Count("lots")).order_by("name")


@dataclass(frozen=True)
class LocationNode:
    location: StorageLocation
    depth: int
    lot_count: int


def location_tree() -> list[LocationNode]:
    """Every storage location in tree order (parents before their children), two queries in all."""
    locations = list(
        StorageLocation.objects.annotate(
            lot_count=Count("lots", filter=~Q(lots__status__in=[LotStatus.DISPOSED, LotStatus.DEPLETED]))
        ).order_by("name")
    )
    by_parent: dict[int | None, list[StorageLocation]] = {}
    by_id = {loc.pk: loc for loc in locations}
    for loc in locations:
        by_parent.setdefault(loc.parent_id, []).append(loc)
        loc.parent = by_id.get(loc.parent_id) if loc.parent_id else None  # path without further queries
    nodes: list[LocationNode] = []

    def walk(parent: int | None, depth: int) -> None:
        for loc in by_parent.get(parent, []):
            nodes.append(LocationNode(loc, depth, loc.lot_count))  # type: ignore[attr-defined]
            if depth < 10:
                walk(loc.pk, depth + 1)

    walk(None, 0)
    return nodes


def location_descendant_ids(location: StorageLocation | int) -> list[int]:
    """The location and every place inside it (one query, walked in Python)."""
    root = location.pk if isinstance(location, StorageLocation) else location
    children: dict[int | None, list[int]] = {}
    for pk, parent in StorageLocation.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, frontier = [root], [root]
    while frontier:
        nxt = [c for p in frontier for c in children.get(p, [])]
        found.extend(nxt)
        frontier = nxt
    return found


def location_detail(pk: int) -> StorageLocation:
    return StorageLocation.objects.select_related("parent", "parent__parent", "parent__parent__parent").get(
        pk=pk
    )


def lots_in_location(location: StorageLocation, *, include_empty: bool = False) -> QuerySet[StockLot]:
    """What is stored in a place and in the places inside it."""
    qs = lot_list().filter(location_id__in=location_descendant_ids(location))
    if not include_empty:
        qs = qs.exclude(status__in=[LotStatus.DISPOSED, LotStatus.DEPLETED])
    return qs.order_by("chemical__name", "code")
