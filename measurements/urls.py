"""Pages of measurements: the ingest part and the derived part, each in its own module."""

from measurements import urls_derived, urls_ingest

app_name = "measurements"

urlpatterns = [*urls_ingest.urlpatterns, *urls_derived.urlpatterns]
