"""Pages of measurements: the ingest part and the derived part, each in its own module."""

from django.urls import path

from measurements import urls_derived, urls_ingest, views_reproduction

app_name = "measurements"

urlpatterns = [
    *urls_ingest.urlpatterns,
    *urls_derived.urlpatterns,
    path("reproduction/", views_reproduction.reproduction_page, name="reproduction"),
]
