"""API routes of the ingest part (included under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from measurements.api import ingest_views as views

router = SimpleRouter()
router.register("uploads", views.UploadViewSet, basename="upload")
router.register("instruments", views.InstrumentViewSet, basename="instrument")
router.register("measurements", views.MeasurementViewSet, basename="measurement")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "measurements/<int:pk>/data.csv",
        views.MeasurementViewSet.as_view({"get": "data_csv"}),
        name="measurement-data-csv",
    ),
    path(
        "measurements/<int:pk>/data.parquet",
        views.MeasurementViewSet.as_view({"get": "data_parquet"}),
        name="measurement-data-parquet",
    ),
    path(
        "measurements/<int:pk>/figures/<slug:kind>.json",
        views.MeasurementViewSet.as_view({"get": "figure"}),
        name="measurement-figure",
    ),
    path(
        "measurements/<int:pk>/figures/<slug:kind>.csv",
        views.MeasurementViewSet.as_view({"get": "figure_csv"}),
        name="measurement-figure-csv",
    ),
    *router.urls,
]
