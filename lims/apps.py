from django.apps import AppConfig


class LimsConfig(AppConfig):
    name = "lims"
    label = "lims"
    verbose_name = "LIMS core"

    def ready(self) -> None:
        from lims.audit import connect_signals

        connect_signals()
