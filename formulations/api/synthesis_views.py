"""Synthesis API: parse input -> call a service or selector -> serialise (with derived values)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from formulations import filters_synthesis as f
from formulations import selectors_synthesis as sel
from formulations.api import synthesis_serializers as ser
from formulations.models import (
    Batch,
    Electrode,
    Membrane,
    Mould,
    Pellet,
    ProcessStep,
    Recipe,
    RecipeComponent,
    RecipeVersion,
)
from formulations.services import synthesis as svc
from lims.api.base import resolve_team
from lims.api.concurrency import OptimisticConcurrencyMixin
from lims.errors import DomainError
from lims.permissions import LimsPermission
from lims.units import UnitError, parse_c_rate


class _Base(  # type: ignore[type-arg]
    OptimisticConcurrencyMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [LimsPermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def _valid(
        self, cls: type[Serializer[Any]], data: Any = None, **querysets: QuerySet[Any]
    ) -> dict[str, Any]:
        serializer = cls(
            data=self.request.data if data is None else data, context=self.get_serializer_context()
        )
        for name, qs in querysets.items():
            serializer.fields[name].queryset = qs  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _out(self, obj: Any, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=obj.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @property
    def user(self) -> Any:
        return self.request.user


def _not_allowed(message: str) -> Response:
    return Response(
        {"error": {"status": 405, "code": "method_not_allowed", "message": message, "fields": {}}}, status=405
    )


# ------------------------------------------------------------------------------------------------ recipes


class RecipeViewSet(_Base):
    """Recipes of your teams. Create with the components and steps of version 1."""

    queryset = Recipe.objects.none()
    serializer_class = ser.RecipeSerializer
    filterset_class = f.RecipeFilter
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[Recipe]:
        return sel.recipes_for(self.user)

    @extend_schema(request=ser.RecipeCreateSerializer, responses={201: ser.RecipeSerializer})
    def create(self, request: Request) -> Response:
        data = self._valid(ser.RecipeCreateSerializer)
        recipe = svc.create_recipe(
            team=resolve_team(self.user, data["team"]),
            name=data["name"],
            description=data["description"],
            notes=data["notes"],
            components=data["components"],
            steps=data["steps"],
            actor=self.user,
        )
        return self._out(recipe, status.HTTP_201_CREATED)

    @extend_schema(request=ser.RecipeUpdateSerializer, responses=ser.RecipeSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        data = self._valid(ser.RecipeUpdateSerializer)
        return self._out(svc.update_recipe(recipe=self.get_object(), actor=self.user, **data))

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        return _not_allowed("Recipes are kept with their history; they are not deleted.")


class RecipeVersionViewSet(_Base):
    """Recipe versions with components, steps and the computed composition. A version used by a batch is frozen:
    PATCH answers 409; POST .../revise/ saves an edit as a new version."""

    queryset = RecipeVersion.objects.none()
    serializer_class = ser.RecipeVersionSerializer
    filterset_class = f.RecipeVersionFilter

    def get_queryset(self) -> QuerySet[RecipeVersion]:
        return sel.versions_for(self.user)

    @extend_schema(request=ser.VersionCreateSerializer, responses={201: ser.RecipeVersionSerializer})
    def create(self, request: Request) -> Response:
        data = self._valid(ser.VersionCreateSerializer, base=self.get_queryset())
        version = svc.new_version(
            base=data["base"],
            actor=self.user,
            notes=data["notes"],
            components=data.get("components"),
            steps=data.get("steps"),
        )
        return self._out(version, status.HTTP_201_CREATED)

    @extend_schema(request=ser.VersionUpdateSerializer, responses=ser.RecipeVersionSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        data = self._valid(ser.VersionUpdateSerializer)
        return self._out(
            svc.update_version_notes(version=self.get_object(), actor=self.user, notes=data["notes"])
        )

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        return _not_allowed("Recipe versions are kept; edit the recipe to make a new version.")

    @extend_schema(request=ser.ReviseSerializer, responses={200: ser.RecipeVersionSerializer})
    @action(detail=True, methods=["post"])
    def revise(self, request: Request, pk: str | None = None) -> Response:
        """Save an edit: a draft version changes in place, a frozen one gets a new version derived from it."""
        data = self._valid(ser.ReviseSerializer)
        version = svc.revise_recipe(
            version=self.get_object(),
            actor=self.user,
            components=data["components"],
            steps=data["steps"],
            notes=data["notes"],
        )
        return self._out(version)

    @extend_schema(
        parameters=[
            OpenApiParameter("scale_factor", float, required=False),
            OpenApiParameter("target_mass", str, required=False, description='batch size, e.g. "21 g"'),
        ],
        responses=ser.ScaledSerializer,
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def scaled(self, request: Request, pk: str | None = None) -> Response:
        """Planned amounts for a batch size: recipe amount x k, k given or m_target / m_recipe."""
        version = self.get_object()
        k = svc.scale_factor_for(
            version,
            scale_factor=request.query_params.get("scale_factor"),
            target_mass=request.query_params.get("target_mass"),
        )
        lines = sel.scaled_amounts(version, k)
        return Response({"scale_factor": k, "lines": ser.ScaledLineSerializer(lines, many=True).data})

    @extend_schema(
        request=ser.FillerSeriesSerializer, responses={201: ser.RecipeVersionSerializer(many=True)}
    )
    @action(detail=True, methods=["post"], url_path="filler-series")
    def filler_series(self, request: Request, pk: str | None = None) -> Response:
        """One version per filler wt% (default 0/20/40/60) on this precursor."""
        data = self._valid(ser.FillerSeriesSerializer)
        versions = svc.filler_series(
            base=self.get_object(),
            filler=data["filler"],
            fractions=data["fractions"],
            recipe_name=data["recipe_name"] or None,
            actor=self.user,
        )
        fresh = self.get_queryset().filter(pk__in=[v.pk for v in versions]).order_by("number")
        return Response(self.get_serializer(fresh, many=True).data, status=status.HTTP_201_CREATED)


class RecipeComponentViewSet(_Base):
    """Lines of recipe versions; changing a line of a frozen version answers 409."""

    queryset = RecipeComponent.objects.none()
    serializer_class = ser.RecipeComponentSerializer
    filterset_fields = ["version", "chemical"]

    def get_queryset(self) -> QuerySet[RecipeComponent]:
        return sel.components_for(self.user)

    @extend_schema(request=ser.RecipeComponentWriteSerializer, responses={201: ser.RecipeComponentSerializer})
    def create(self, request: Request) -> Response:
        data = self._valid(ser.RecipeComponentWriteSerializer, version=sel.versions_for(self.user))
        component = svc.add_component(actor=self.user, **data)
        return self._out(component, status.HTTP_201_CREATED)

    @extend_schema(request=ser.ComponentUpdateSerializer, responses=ser.RecipeComponentSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        data = self._valid(ser.ComponentUpdateSerializer)
        return self._out(svc.update_component(component=self.get_object(), actor=self.user, **data))

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        svc.remove_component(component=self.get_object(), actor=self.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProcessStepViewSet(_Base):
    """Typed process steps of recipe versions (fields validated per kind); frozen versions answer 409."""

    queryset = ProcessStep.objects.none()
    serializer_class = ser.ProcessStepSerializer
    filterset_fields = ["version", "kind"]

    def get_queryset(self) -> QuerySet[ProcessStep]:
        return sel.steps_for(self.user)

    @extend_schema(request=ser.StepWriteSerializer, responses={201: ser.ProcessStepSerializer})
    def create(self, request: Request) -> Response:
        data = self._valid(ser.StepWriteSerializer, version=sel.versions_for(self.user))
        step = svc.add_step(actor=self.user, **data)
        return self._out(step, status.HTTP_201_CREATED)

    @extend_schema(request=ser.StepInputSerializer, responses=ser.ProcessStepSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        step = self.get_object()
        payload = request.data if isinstance(request.data, dict) else {}
        data = {k: v for k, v in payload.items() if k in ser.StepInputSerializer().fields}
        return self._out(svc.update_step(step=step, actor=self.user, **data))

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        svc.remove_step(step=self.get_object(), actor=self.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------------------------ batches


class BatchViewSet(_Base):
    """Synthesis batches. POST draws every component from its lot in one transaction (all or nothing);
    deviations from the scaled recipe are flagged. Batches are cancelled with a reason, never deleted."""

    queryset = Batch.objects.none()
    serializer_class = ser.BatchSerializer
    filterset_class = f.BatchFilter
    ordering_fields = ["started_at", "code"]

    def get_queryset(self) -> QuerySet[Batch]:
        return sel.batch_detail_queryset(self.user)

    @extend_schema(request=ser.BatchCreateSerializer, responses={201: ser.BatchSerializer})
    def create(self, request: Request) -> Response:
        data = self._valid(ser.BatchCreateSerializer, recipe_version=sel.versions_for(self.user))
        batch = svc.record_batch(
            version=data["recipe_version"],
            actor=self.user,
            draws=data["draws"],
            scale_factor=data["scale_factor"],
            target_mass=data["target_mass"] or None,
            tolerance=data["tolerance"],
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            conditions=data["conditions"],
            notes=data["notes"],
        )
        return self._out(batch, status.HTTP_201_CREATED)

    @extend_schema(request=ser.BatchUpdateSerializer, responses=ser.BatchSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        data = self._valid(ser.BatchUpdateSerializer)
        return self._out(svc.update_batch(batch=self.get_object(), actor=self.user, **data))

    @extend_schema(responses={409: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        svc.delete_batch(batch=self.get_object(), actor=self.user)  # always refused (ConflictError -> 409)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ser.CancelSerializer, responses=ser.BatchSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        data = self._valid(ser.CancelSerializer)
        return self._out(svc.cancel_batch(batch=self.get_object(), actor=self.user, reason=data["reason"]))


# ------------------------------------------------------------------------------------------------ products


class MouldViewSet(_Base):
    """Reusable moulds (shared by all teams); the area turns a cast mass into a thickness."""

    queryset = Mould.objects.none()
    serializer_class = ser.MouldSerializer
    filterset_class = f.MouldFilter

    def get_queryset(self) -> QuerySet[Mould]:
        return sel.moulds_all()

    @extend_schema(request=ser.MouldSerializer, responses={201: ser.MouldSerializer})
    def create(self, request: Request) -> Response:
        data = self._valid(ser.MouldSerializer)
        mould = svc.create_mould(actor=self.user, **data)
        return self._out(mould, status.HTTP_201_CREATED)

    @extend_schema(request=ser.MouldUpdateSerializer, responses=ser.MouldSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        data = self._valid(ser.MouldUpdateSerializer)
        return self._out(svc.update_mould(mould=self.get_object(), actor=self.user, **data))

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        return _not_allowed("Moulds are kept: membranes refer to their area.")


class MembraneViewSet(_Base):
    """Membranes cast from batches; thickness = cast mass / (slurry density x mould area), with the source of
    the density (measured or estimated) and the discrepancy to a measured thickness."""

    queryset = Membrane.objects.none()
    serializer_class = ser.MembraneSerializer
    filterset_class = f.MembraneFilter

    def get_queryset(self) -> QuerySet[Membrane]:
        return sel.membranes_for(self.user)

    @extend_schema(request=ser.MembraneCreateSerializer, responses={201: ser.MembraneSerializer})
    def create(self, request: Request) -> Response:
        data = self._valid(ser.MembraneCreateSerializer, batch=sel.batches_for(self.user))
        membrane = svc.cast_membrane(actor=self.user, **data)
        return self._out(membrane, status.HTTP_201_CREATED)

    @extend_schema(request=ser.MembraneUpdateSerializer, responses=ser.MembraneSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        data = self._valid(ser.MembraneUpdateSerializer)
        return self._out(svc.update_membrane(membrane=self.get_object(), actor=self.user, **data))

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        return _not_allowed("Membranes are kept with their history; they are not deleted.")


class PelletViewSet(_Base):
    """Sintered pellets with geometric and relative density (vs the chemical's theoretical density)."""

    queryset = Pellet.objects.none()
    serializer_class = ser.PelletSerializer
    filterset_class = f.PelletFilter

    def get_queryset(self) -> QuerySet[Pellet]:
        return sel.pellets_for(self.user)

    @extend_schema(request=ser.PelletCreateSerializer, responses={201: ser.PelletSerializer})
    def create(self, request: Request) -> Response:
        data = self._valid(ser.PelletCreateSerializer)
        data["team"] = resolve_team(self.user, data["team"])
        pellet = svc.make_pellet(actor=self.user, **data)
        return self._out(pellet, status.HTTP_201_CREATED)

    @extend_schema(request=ser.NotesSerializer, responses=ser.PelletSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        data = self._valid(ser.NotesSerializer)
        return self._out(svc.update_pellet(pellet=self.get_object(), actor=self.user, **data))

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        return _not_allowed("Pellets are kept with their history; they are not deleted.")


class ElectrodeViewSet(_Base):
    """Electrodes with active mass and the 1 C current; GET .../{id}/?c_rate=0.5C adds the current at that rate."""

    queryset = Electrode.objects.none()
    serializer_class = ser.ElectrodeSerializer
    filterset_class = f.ElectrodeFilter

    def get_queryset(self) -> QuerySet[Electrode]:
        return sel.electrodes_for(self.user)

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        text = self.request.query_params.get("c_rate") if getattr(self, "request", None) else None
        if text:
            try:
                context["c_rate"] = parse_c_rate(text).rate_per_h
            except UnitError as exc:
                raise DomainError(str(exc)) from None
        return context

    @extend_schema(
        parameters=[OpenApiParameter("c_rate", str, required=False, description='e.g. "0.5C" or "C/10"')],
        responses=ser.ElectrodeSerializer,
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=ser.ElectrodeCreateSerializer, responses={201: ser.ElectrodeSerializer})
    def create(self, request: Request) -> Response:
        data = self._valid(ser.ElectrodeCreateSerializer)
        data["team"] = resolve_team(self.user, data["team"])
        electrode = svc.make_electrode(actor=self.user, **data)
        return self._out(electrode, status.HTTP_201_CREATED)

    @extend_schema(request=ser.NotesSerializer, responses=ser.ElectrodeSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        data = self._valid(ser.NotesSerializer)
        return self._out(svc.update_electrode(electrode=self.get_object(), actor=self.user, **data))

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        return _not_allowed("Electrodes are kept with their history; they are not deleted.")
