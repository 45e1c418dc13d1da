"""Optimistic concurrency for the API: an ETag on every read of one record, If-Match checked on every write.

The tag is derived from the row's ``updated_at`` (every record that can be edited has one: ``lims.models.TimeStamped``),
so no column is added. A client that read a record sends its ETag back in ``If-Match`` with PATCH, PUT, DELETE or a
POST to one of the record's actions; when the record changed in between, the write is refused with 409 and the error
envelope says so. The comparison happens under a row lock, in the same transaction as the write, so two clients that
read the same version can never both win: the second one is told to reload instead of silently overwriting the first.

Without ``If-Match`` a write proceeds (last writer wins), as HTTP specifies; ``If-Match: *`` matches any version.
Cells also carry an explicit ``version`` field in their write bodies (cells.services._check_version): both checks apply.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from lims.errors import ConflictError

#: the actions whose response is the representation of the record (and so carries its ETag)
_REPRESENTATION_ACTIONS = ("retrieve", "update", "partial_update")


def etag_for(model: type[models.Model], pk: Any, updated_at: Any) -> str | None:
    """A strong ETag naming one version of one record: ``"<pk>-<updated_at in µs since the epoch>"``."""
    if updated_at is None:
        return None
    return f'"{pk}-{int(updated_at.timestamp() * 1_000_000)}"'


def current_etag(obj: models.Model, *, lock: bool = False) -> str | None:
    """The ETag of the row as it is in the database now (locked FOR UPDATE with ``lock``)."""
    model = type(obj)
    qs = model._default_manager.filter(pk=obj.pk)
    if lock:
        qs = qs.select_for_update()
    updated_at = qs.values_list("updated_at", flat=True).first()
    return etag_for(model, obj.pk, updated_at)


def _tags(header: str) -> list[str]:
    """The entity tags of an If-Match header; a weak tag (W/"...") is compared by its opaque part."""
    tags = []
    for raw in header.split(","):
        tag = raw.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag:
            tags.append(tag)
    return tags


def check_if_match(obj: models.Model, header: str) -> None:
    """Refuse (ConflictError -> 409) a write whose If-Match names another version than the current one.

    Must run inside the write's transaction: the row stays locked until the write commits.
    """
    tags = _tags(header)
    if "*" in tags:
        return
    current = current_etag(obj, lock=True)
    if current is None or current in tags:
        return
    name = str(type(obj)._meta.verbose_name)
    raise ConflictError(
        f"{name[:1].upper()}{name[1:]} {obj} was changed by someone else since you read it "
        f"(If-Match {', '.join(tags)}, now {current}); reload it and apply your change again."
    )


def has_updated_at(model: type[models.Model]) -> bool:
    return any(f.name == "updated_at" for f in model._meta.concrete_fields)


class OptimisticConcurrencyMixin:
    """For a DRF viewset of a model with ``updated_at``: ETag on reads and writes of one record, If-Match checked.

    A write that sends If-Match runs in one transaction (rolled back when it answers with an error), with the row
    locked from the comparison to the commit.
    """

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method not in SAFE_METHODS and request.META.get("HTTP_IF_MATCH"):
            with transaction.atomic():
                response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
                if response.status_code >= 400:
                    transaction.set_rollback(True)
                return response
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def get_object(self) -> Any:
        obj = super().get_object()  # type: ignore[misc]
        if has_updated_at(type(obj)):
            self._etag_object = obj
            request = self.request  # type: ignore[attr-defined]
            header = request.META.get("HTTP_IF_MATCH", "")
            if header and request.method not in SAFE_METHODS:
                check_if_match(obj, header)
        return obj

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        obj = getattr(self, "_etag_object", None)
        if (
            obj is not None
            and getattr(self, "action", None) in _REPRESENTATION_ACTIONS
            and 200 <= response.status_code < 300
            and not response.has_header("ETag")
        ):
            if request.method in SAFE_METHODS:
                tag = etag_for(type(obj), obj.pk, getattr(obj, "updated_at", None))
            else:
                tag = current_etag(obj)  # after the write: the version the client now holds
            if tag:
                response["ETag"] = tag
        return response
