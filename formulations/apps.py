from django.apps import AppConfig


class FormulationsConfig(AppConfig):
    name = "formulations"
    label = "formulations"

    def ready(self) -> None:
        from formulations import signals  # noqa: F401  (dashboard sections, search providers)
