"""Dashboard sections and search providers of measurements (registered at start-up)."""

from measurements import signals_derived, signals_ingest  # noqa: F401
