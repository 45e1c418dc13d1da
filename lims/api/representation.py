"""A serializer's output without DRF's per-row, per-field machinery: the same fields, the same values.

DRF's ``Serializer.to_representation`` walks the readable fields of every row anew: for each it resolves the source
(``fields.get_attribute``: a Mapping check, ``getattr`` and an ``inspect``-based callable check per step), checks for
``PKOnlyObject`` and calls the field's ``to_representation``. On the API's lists that was a third of the request
(a page of 50 lots: 23 fields x 50 rows). ``CompiledRepresentation`` works out, once per serializer instance (that
is, once per request: a ListSerializer reuses one child for every row), how each field reads and writes its
value, and then runs that plan for every row:

- a field whose source walks concrete model fields (``code``, ``membrane.code``, ``operator``) is read with one
  ``operator.attrgetter``; anything unusual on the way (a missing related record, None in the middle) is handed to
  the field's own ``get_attribute``, so defaults, ``allow_null`` and errors are DRF's;
- a ``PrimaryKeyRelatedField`` on a foreign key reads the key column (DRF's pk-only optimisation, without the
  ``PKOnlyObject``);
- ``CharField`` and ``IntegerField`` values become ``str``/``int`` directly; a ``SerializerMethodField`` calls its
  method; every other field (quantities, dates, choices, files, nested serializers) keeps its own
  ``to_representation``, bound as DRF binds it (context, request).

A ModelSerializer also builds its model fields anew on every instantiation (inspecting each model field, its
validators and choices); ``get_fields`` here builds them once per class and deep-copies them, as DRF itself copies
the declared fields. Serialising one cell with its parts: 0.89 -> 0.64 ms; one upload's status: 0.43 -> 0.31 ms.

Most serializers need none of that per request: when every field of a class reads and converts its value without
the request (plain columns and paths, key columns, dates, numbers, choices, quantities, nested serializers made of
the same, and method fields of the top-level serializer, which run on the request's own serializer), the plan is
made once per class, from one serializer of that class made without a request, and the request's serializer never
builds its fields at all (``_class_plan``; DRF still builds them when something asks for ``.fields``: validation,
the schema). One upload's status: 0.31 -> 0.05 ms of serialisation (timeit); the deep copy of its fields and the
per-request plan had been a fifth of the whole request under cProfile.

Fields whose classes change how they read (a ``get_attribute`` or ``use_pk_only_optimization`` of their own), rows
that are Mappings, and ``ENABLED = False`` go through DRF unchanged. ``tests/test_representation.py`` requests every
list and detail endpoint of the API with and without this, on the query-count tests' lab, and compares the bytes.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models.manager import BaseManager
from rest_framework import fields as drf_fields
from rest_framework import relations
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.serializers import BaseSerializer, ListSerializer, Serializer

from lims.fields import QuantitySerializerField

#: switched off by the equivalence test, to compare with DRF's own output
ENABLED = True

Getter = Callable[[Any], Any]


def _walks_concrete_fields(model: Any, attrs: list[str]) -> bool:
    """``attrs`` name concrete fields from ``model`` on: forward foreign keys, then at most one column at the end."""
    for i, attr in enumerate(attrs):
        if model is None:
            return False
        try:
            field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            return False
        if not getattr(field, "concrete", False) or field.many_to_many:
            return False
        if field.is_relation:
            model = field.related_model
        elif i != len(attrs) - 1:
            return False
        else:
            model = None
    return True


def _plain_reader(field: drf_fields.Field) -> bool:
    """The field reads its value as DRF's Field does (no get_attribute of its own, no pk-only object)."""
    method = type(field).get_attribute
    if method is drf_fields.Field.get_attribute:
        return True
    return method is relations.RelatedField.get_attribute and not field.use_pk_only_optimization()  # type: ignore[attr-defined]


def _fallback(read: Callable[[Any], Any], field: drf_fields.Field) -> Getter:
    def get(instance: Any) -> Any:
        try:
            return read(instance)
        except Exception:  # noqa: BLE001 - DRF's own reading decides: default, None, SkipField or the error
            return field.get_attribute(instance)

    return get


def _identity(value: Any) -> Any:
    return value


def _pk_column(field: drf_fields.Field, model: Any) -> str | None:
    """The key column a PrimaryKeyRelatedField prints, when DRF would print exactly that column's value."""
    if not isinstance(field, relations.PrimaryKeyRelatedField) or field.pk_field is not None:
        return None
    cls = type(field)
    if (
        cls.get_attribute is not relations.RelatedField.get_attribute
        or cls.to_representation is not relations.PrimaryKeyRelatedField.to_representation
        or cls.use_pk_only_optimization is not relations.PrimaryKeyRelatedField.use_pk_only_optimization
        or len(field.source_attrs) != 1
        or model is None
    ):
        return None
    try:
        model_field = model._meta.get_field(field.source_attrs[0])
    except FieldDoesNotExist:
        return None
    if not (model_field.many_to_one or model_field.one_to_one) or not model_field.concrete:
        return None
    # DRF reads instance.serializable_value(name), i.e. getattr(instance, attname), and prints it as the pk
    return str(model_field.attname)


def plan_steps(serializer: Any, *, per_class: bool) -> list[ClassStep] | None:
    """The steps that print ``serializer``'s readable fields.

    ``per_class=False``: for this serializer only (its fields are bound to the request), never None.
    ``per_class=True``: for every serializer of its class, made from one made without a request; None when some
    field cannot be read the same without the request (a default computed from it, a reader of its own). A
    conversion that is not known to be context-free then runs on the request's own copy of that field.
    """
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    unbound = serializer.get_fields() if per_class else {}
    steps: list[ClassStep] = []
    for field in serializer._readable_fields:
        name = field.field_name
        to_repr = type(field).to_representation
        if to_repr is drf_fields.SerializerMethodField.to_representation:
            steps.append((name, _identity, _identity, field.method_name, None))
            continue
        if per_class and not _static_default(field):
            return None
        column = _pk_column(field, model)
        if column is not None:
            steps.append((name, _fallback(operator.attrgetter(column), field), _identity, None, None))
            continue
        get: Getter
        if not _plain_reader(field):
            if per_class:
                return None
            get = field.get_attribute
        elif field.source == "*":
            get = _identity
        elif model is not None and _walks_concrete_fields(model, field.source_attrs):
            get = _fallback(operator.attrgetter(".".join(field.source_attrs)), field)
        else:
            get = field.get_attribute
        convert: Callable[[Any], Any] | None
        if to_repr is drf_fields.CharField.to_representation:
            convert = str
        elif to_repr is drf_fields.IntegerField.to_representation:
            convert = int
        elif not per_class or to_repr in _CONTEXT_FREE:
            convert = field.to_representation
        elif isinstance(field, BaseSerializer):
            convert = _nested_converter(field)
        else:
            convert = None
        if convert is None:
            # converted by the request's own copy of the field (made from the unbound one, as DRF makes it)
            field._lims_unbound = unbound[name]  # type: ignore[attr-defined]
            steps.append((name, get, _identity, None, field))
        else:
            steps.append((name, get, convert, None, None))
    return steps


#: DRF field conversions that read nothing but the field's own arguments (no request, no parent): a field of one
#: of these classes, whose class does not override the method, converts the same in any serializer
_CONTEXT_FREE: set[Callable[..., Any]] = {
    drf_fields.BigIntegerField.to_representation,
    drf_fields.BooleanField.to_representation,
    drf_fields.ChoiceField.to_representation,
    drf_fields.DateField.to_representation,
    drf_fields.DateTimeField.to_representation,
    drf_fields.DecimalField.to_representation,
    drf_fields.FloatField.to_representation,
    drf_fields.JSONField.to_representation,
    drf_fields.ReadOnlyField.to_representation,
    drf_fields.TimeField.to_representation,
    drf_fields.UUIDField.to_representation,
    relations.StringRelatedField.to_representation,
    QuantitySerializerField.to_representation,
}

#: one step of a class plan: (name, read, convert, method, field). A method step calls that method of the request's
#: serializer; a field step converts with the request's own copy of that field (bound to the request's serializer,
#: made when the first row needs it: a file's URL, say, is built from the request)
ClassStep = tuple[str, Getter, Callable[[Any], Any], str | None, drf_fields.Field | None]


class ClassPlan:
    """The plan of a serializer class, made once: runs for any serializer of the class."""

    __slots__ = ("steps", "per_request")

    def __init__(self, steps: list[ClassStep]) -> None:
        self.steps = steps
        #: some step needs the request's serializer (a method, a bound field): not usable as a nested plan
        self.per_request = any(method is not None or field is not None for *_, method, field in steps)

    def run(self, serializer: Any, instance: Any) -> dict[str, Any]:
        ret: dict[str, Any] = {}
        for name, get, convert, method, field in self.steps:
            if method is not None:
                ret[name] = getattr(serializer, method)(instance)
                continue
            try:
                attribute = get(instance)
            except SkipField:
                continue
            if attribute is None or (type(attribute) is PKOnlyObject and attribute.pk is None):
                ret[name] = None
            elif field is not None:
                ret[name] = _bound(serializer, name, field).to_representation(attribute)
            else:
                ret[name] = convert(attribute)
        return ret


def _bound(serializer: Any, name: str, prototype: drf_fields.Field) -> drf_fields.Field:
    """The request's copy of one field, bound to the request's serializer as DRF binds its fields."""
    key = "_lims_bound_" + name
    field: drf_fields.Field | None = serializer.__dict__.get(key)
    if field is None:
        field = copy.deepcopy(prototype._lims_unbound)  # type: ignore[attr-defined]
        field.bind(field_name=name, parent=serializer)
        serializer.__dict__[key] = field
    return field


#: serializer class -> its class plan, or None when some field needs the request's own serializer
_CLASS_PLANS: dict[type, ClassPlan | None] = {}


def _class_plan(cls: type) -> ClassPlan | None:
    try:
        return _CLASS_PLANS[cls]
    except KeyError:
        pass
    try:
        plan = _build_class_plan(cls)
    except Exception:  # noqa: BLE001 - a class that cannot be made without a request keeps the per-request plan
        plan = None
    _CLASS_PLANS[cls] = plan
    return plan


def _static_default(field: drf_fields.Field) -> bool:
    """DRF's reading may fall back to the field's default: only a constant one is the same without a request."""
    default = field.default
    return default is drf_fields.empty or not callable(default)


def _nested_converter(field: Any) -> Callable[[Any], Any] | None:
    """A nested serializer (one, or a plain ``many=True`` list) whose class plan needs no request."""
    many = type(field) is ListSerializer
    child = field.child if many else field
    if not isinstance(child, CompiledRepresentation) or not isinstance(child, BaseSerializer):
        return None
    if many and type(field).to_representation is not ListSerializer.to_representation:
        return None
    if type(child).to_representation is not CompiledRepresentation.to_representation:
        return None
    plan = _class_plan(type(child))
    if plan is None or plan.per_request:
        return None
    run = plan.run
    if not many:
        return lambda value: run(None, value)

    def convert_many(data: Any) -> list[dict[str, Any]]:
        # as ListSerializer.to_representation
        iterable = data.all() if isinstance(data, BaseManager) else data
        return [run(None, item) for item in iterable]

    return convert_many


def _build_class_plan(cls: type) -> ClassPlan | None:
    # a class that chooses its fields per instance (its own __init__, get_fields or fields) is planned per request
    if (
        cls.__init__ is not BaseSerializer.__init__  # type: ignore[misc]
        or getattr(cls, "get_fields", None) is not CompiledRepresentation.get_fields
        or getattr(cls, "fields", None) is not Serializer.fields
        or getattr(cls, "_readable_fields", None) is not Serializer._readable_fields
    ):
        return None
    steps = plan_steps(cls(), per_class=True)
    return None if steps is None else ClassPlan(steps)


#: a ModelSerializer class -> its fields as built from the model once (unbound); each instance gets a deep copy
_FIELD_TEMPLATES: dict[type, dict[str, Any]] = {}


class CompiledRepresentation:
    """Mix into a (Model)Serializer, before it: ``class S(CompiledRepresentation, serializers.ModelSerializer)``.

    Besides the plan, the fields a ModelSerializer builds from its model on every instantiation (inspecting the
    model field, its validators and choices) are built once per class and deep-copied, as DRF copies the
    declared fields: a copy is a fresh, unbound field made from the same arguments."""

    def get_fields(self) -> dict[str, Any]:
        if not ENABLED:
            return super().get_fields()  # type: ignore[misc, no-any-return]
        template = _FIELD_TEMPLATES.get(type(self))
        if template is None:
            template = _FIELD_TEMPLATES[type(self)] = super().get_fields()  # type: ignore[misc]
        return copy.deepcopy(template)

    def to_representation(self, instance: Any) -> Any:
        if not ENABLED or isinstance(instance, Mapping):
            return super().to_representation(instance)  # type: ignore[misc]
        class_plan = _class_plan(type(self))
        if class_plan is not None:
            return class_plan.run(self, instance)
        plan = self.__dict__.get("_compiled_plan")
        if plan is None:
            plan = self.__dict__["_compiled_plan"] = ClassPlan(plan_steps(self, per_class=False) or [])
        return plan.run(self, instance)
