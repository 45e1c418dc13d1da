"""Lost-update protection for the web edit forms, the counterpart of the API's ETag / If-Match
(lims/api/concurrency.py).

An edit form carries, in a hidden ``loaded_version`` field, the version of the record it was opened on (the same
tag as the API's ETag: primary key and ``updated_at`` in microseconds). When the form is saved, the record's row is
locked and its current version compared with the one the form was opened on, inside the transaction of the save;
if someone else saved the record in between, the save is refused with a form error that says who changed it and
when, instead of silently overwriting their change.

A form posted without the field (an old page, a script) is saved as before (last writer wins), like an API write
without If-Match.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django import forms
from django.db import models, transaction

from lims.api.concurrency import current_etag, etag_for
from lims.errors import ConflictError

FIELD = "loaded_version"


def version_of(obj: models.Model | None) -> str:
    """The version tag of a saved record ("" for a new one)."""
    if obj is None or obj.pk is None:
        return ""
    return etag_for(type(obj), obj.pk, getattr(obj, "updated_at", None)) or ""


def loaded_version_field(obj: models.Model | None) -> forms.CharField:
    """The hidden field that carries the version of ``obj`` the form was opened on."""
    return forms.CharField(required=False, widget=forms.HiddenInput, max_length=80, initial=version_of(obj))


class LoadedVersionMixin(forms.BaseForm):
    """Adds the hidden ``loaded_version`` field to a (model) form; after validation the submitted value is in
    ``self.loaded_version`` and no longer in ``cleaned_data`` (so the form's data can go to a service as is)."""

    loaded_version: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[FIELD] = loaded_version_field(getattr(self, "instance", None))
        self.loaded_version = ""

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        self.loaded_version = (self.cleaned_data.pop(FIELD, "") or "").strip()
        return data


def _last_change(obj: models.Model) -> str:
    history = getattr(obj, "history", None)
    if history is None:
        return ""
    last = history.order_by("-history_date").select_related("history_user").first()
    if last is None:
        return ""
    who = last.history_user.get_username() if last.history_user else "someone"
    return f" by {who} at {last.history_date:%Y-%m-%d %H:%M:%S} UTC"


@contextmanager
def unchanged_since_loaded(obj: models.Model, loaded_version: str) -> Iterator[None]:
    """Run the save in one transaction with the record's row locked, after checking that the record is still the
    version the form was opened on (ConflictError otherwise; the save then does not happen)."""
    with transaction.atomic():
        if loaded_version and obj.pk is not None:
            current = current_etag(obj, lock=True)
            if current is not None and current != loaded_version:
                name = str(type(obj)._meta.verbose_name)
                raise ConflictError(
                    f"This {name} was changed{_last_change(obj)} after you opened this form, and your changes "
                    "were not saved so as not to overwrite theirs. Reload the page to see the current values, "
                    "then make your change again."
                )
        yield
