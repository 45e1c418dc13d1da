"""Dashboard sections and search providers of formulations (registered at start-up)."""

from formulations import signals_inventory, signals_synthesis  # noqa: F401
