"""API routes of cells, included under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from cells.api import views

router = SimpleRouter()
router.register("cells", views.CellViewSet, basename="cell")

urlpatterns = [
    path("provenance/where-used/", views.WhereUsedView.as_view(), name="provenance-where-used"),
    path("provenance/lineage/", views.LineageView.as_view(), name="provenance-lineage"),
    *router.urls,
]
