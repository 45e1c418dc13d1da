"""Model instances loaded from the database without Django's general constructor: the same instances, faster.

Django builds every loaded row (and every ``select_related`` record in it) with ``Model.from_db``, which pads the
values to the model's concrete fields and calls ``Model.__init__``. That constructor serves every way a model can
be made (keyword arguments, related instances, defaults, properties), and for a loaded row does four things: it
sends ``pre_init``, makes a ``ModelState``, sets each loaded value with ``setattr`` (skipping the deferred ones),
and sends ``post_init``. ``from_db`` then marks the state as loaded from ``db``. A page of 50 cells builds ~300
instances, the derived-property list ~500: about 13 µs each, the largest single cost of the API's lists.

``install()`` (called from ``LimsConfig.ready``) gives ``Model.from_db`` a version that does exactly those four
things with the attribute names worked out once per model and set of loaded columns, writing the values into the
instance's ``__dict__``: 4-6 µs per instance. The writes are what ``setattr`` does for the descriptors Django puts
on concrete fields (``DeferredAttribute`` has no setter; ``ForeignKeyDeferredAttribute``'s setter only clears a
cached related object, which a new instance cannot have; ``FileDescriptor``'s setter writes the value). A model
with any other descriptor on a concrete field, a model that defines its own ``from_db``, and any ``pre_init``
receiver (the signal is then sent by Django's own path) keep Django's construction. ``post_init`` is sent as
Django sends it (cells, membranes and pellets snapshot their inputs there: measurements/signals_derived.py).

lims/tests/test_loading.py loads rows of every installed model both ways and compares the instances; the whole
test suite runs with it. ``LIMS_FAST_MODEL_LOADING=0`` (setting ``FAST_MODEL_LOADING``) switches it off.
"""

from __future__ import annotations

import inspect
from typing import Any

from django.db.models import Model
from django.db.models.base import DEFERRED, ModelState
from django.db.models.fields.files import FileDescriptor
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

#: Django's own from_db (the underlying function), used where the fast path does not apply
_DJANGO_FROM_DB = Model.from_db.__func__  # type: ignore[attr-defined]

#: descriptors of concrete fields whose setter, on a new instance, writes the value into __dict__ (or that have none)
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute, FileDescriptor)

#: (model, loaded attribute names) -> the attribute names to write, in the order of the values; None: Django's way
_PLANS: dict[tuple[type, tuple[str, ...], int], tuple[str, ...] | None] = {}


def _plain(cls: type[Model]) -> bool:
    """Every concrete field's attribute is one of Django's plain descriptors, and the model keeps Model.from_db."""
    if getattr(cls.from_db, "__func__", None) is not fast_from_db:
        return False
    return all(
        type(inspect.getattr_static(cls, field.attname, None)) in _PLAIN_DESCRIPTORS
        for field in cls._meta.concrete_fields
    )


def _plan(cls: type[Model], field_names: tuple[str, ...], count: int) -> tuple[str, ...] | None:
    if not _plain(cls):
        return None
    concrete = cls._meta.concrete_fields
    if count == len(concrete):
        # Django takes the values in the order of the concrete fields, whatever field_names says
        return tuple(f.attname for f in concrete)
    names = set(field_names)
    attnames = tuple(f.attname for f in concrete if f.attname in names)
    # Django would pad the values to the concrete fields by these names; a mismatch is Django's error to raise
    return attnames if len(attnames) == count else None


def fast_from_db(cls: type[Model], db: str, field_names: Any, values: Any) -> Model:
    key = (cls, tuple(field_names), len(values))
    try:
        attnames = _PLANS[key]
    except KeyError:
        attnames = _PLANS[key] = _plan(cls, key[1], key[2])
    if attnames is None or pre_init.receivers:
        return _DJANGO_FROM_DB(cls, db, field_names, values)  # type: ignore[no-any-return]
    new = cls.__new__(cls)
    state = new._state = ModelState()
    data = new.__dict__
    for name, value in zip(attnames, values, strict=True):
        if value is not DEFERRED:
            data[name] = value
    post_init.send(sender=cls, instance=new)
    state.adding = False
    state.db = db
    return new


def install() -> None:
    Model.from_db = classmethod(fast_from_db)  # type: ignore[assignment, method-assign]


def uninstall() -> None:
    Model.from_db = classmethod(_DJANGO_FROM_DB)  # type: ignore[assignment, method-assign]
