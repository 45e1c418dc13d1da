"""Rows load into the same model instances with lims.loading's from_db as with Django's own.

Every installed model (the LIMS's, their history models, auth, sessions, content types) is read from the test
world (tests/world.py) three ways: whole rows, rows with every non-null foreign key joined (``select_related()``,
whose joined records are built by from_db as well) and rows with all but the key deferred (``only("pk")``, the
padded case). Each read runs with the fast path and with Django's, and the instances are compared attribute by
attribute, with their state (loaded, database, cached related records).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db.models import Model

from lims import loading

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _picture(obj: Model, depth: int = 0) -> dict[str, Any]:
    state = obj._state
    related = {
        name: _picture(value, depth + 1) if isinstance(value, Model) and depth < 4 else value
        for name, value in state.fields_cache.items()
    }
    attrs = {k: v for k, v in obj.__dict__.items() if k != "_state"}
    return {
        "type": type(obj),
        "attrs": attrs,
        "adding": state.adding,
        "db": state.db,
        "related": related,
    }


def _read(model: type[Model], how: str, fast: bool) -> list[dict[str, Any]]:
    if fast:
        loading.install()
    else:
        loading.uninstall()
    try:
        qs = model._default_manager.order_by("pk")
        if how == "joined":
            qs = qs.select_related()
        elif how == "deferred":
            qs = qs.only("pk")
        return [_picture(obj) for obj in qs[:25]]
    finally:
        loading.install()


def test_every_model_loads_the_same_instances_both_ways(world: Any) -> None:
    compared = 0
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for how in ("whole", "joined", "deferred"):
            fast, django = _read(model, how, True), _read(model, how, False)
            assert fast == django, (model.__name__, how)
            compared += len(fast)
    assert compared > 500, compared
    fast_models = {cls for (cls, *_), names in loading._PLANS.items() if names is not None}
    assert len(fast_models) >= 40, sorted(m.__name__ for m in fast_models)


def test_a_model_with_a_descriptor_of_its_own_keeps_djangos_construction() -> None:
    """A concrete field whose attribute is something else than Django's plain descriptors (here, a property
    that rewrites the value) must be set through setattr: the model is loaded by Django's from_db."""
    from cells.models import Cell

    class Shouting:
        def __get__(self, instance: Any, owner: Any) -> Any:
            return instance.__dict__["code"] if instance is not None else self

        def __set__(self, instance: Any, value: Any) -> None:
            instance.__dict__["code"] = str(value).upper()

    original = Cell.__dict__["code"]
    Cell.code = Shouting()  # type: ignore[assignment]
    try:
        loading._PLANS.clear()
        assert loading._plan(Cell, tuple(f.attname for f in Cell._meta.concrete_fields), 0) is None
        names = [f.attname for f in Cell._meta.concrete_fields]
        values: list[Any] = [None] * len(names)
        values[names.index("code")] = "g-c1"
        assert Cell.from_db("default", names, values).code == "G-C1"
    finally:
        Cell.code = original
        loading._PLANS.clear()


def test_with_a_pre_init_receiver_djangos_construction_sends_it() -> None:
    from django.db.models.signals import pre_init

    from formulations.models import Mould

    seen: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append(sender)

    pre_init.connect(receiver, sender=Mould)
    try:
        names = [f.attname for f in Mould._meta.concrete_fields]
        Mould.from_db("default", names, [None] * len(names))
    finally:
        pre_init.disconnect(receiver, sender=Mould)
    assert seen == [Mould]
