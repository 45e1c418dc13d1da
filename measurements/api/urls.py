"""API routes of measurements: the ingest part and the derived part, each in its own module."""

from measurements.api import derived_urls, ingest_urls

urlpatterns = [*ingest_urls.urlpatterns, *derived_urls.urlpatterns]
