from django.apps import AppConfig


class MeasurementsConfig(AppConfig):
    name = "measurements"
    label = "measurements"

    def ready(self) -> None:
        from measurements import signals  # noqa: F401  (dashboard sections, search providers)
