from django.apps import AppConfig


class CellsConfig(AppConfig):
    name = "cells"
    label = "cells"

    def ready(self) -> None:
        from cells import signals  # noqa: F401  (dashboard sections, search providers)
