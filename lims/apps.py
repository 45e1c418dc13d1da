from django.apps import AppConfig


class LimsConfig(AppConfig):
    name = "lims"
    label = "lims"
    verbose_name = "LIMS core"

    def ready(self) -> None:
        from django.conf import settings

        from lims import loading
        from lims.audit import connect_signals

        connect_signals()
        if getattr(settings, "FAST_MODEL_LOADING", True):
            loading.install()
