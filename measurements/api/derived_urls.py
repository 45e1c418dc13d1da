"""API routes of the derived part (included under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from measurements.api import derived_views as views

router = SimpleRouter()
router.register("derived-properties", views.DerivedPropertyViewSet, basename="derived-property")
router.register("series", views.MeasurementSeriesViewSet, basename="measurement-series")

urlpatterns: list[URLPattern | URLResolver] = [
    path("comparison/", views.ComparisonView.as_view(), name="comparison"),
    *router.urls,
]
