from django.apps import AppConfig


class LimsConfig(AppConfig):
    name = "lims"
    label = "lims"
    verbose_name = "LIMS core"

    def ready(self) -> None:
        from django.conf import settings

        from lims import authentication, loading, pg_types
        from lims.audit import connect_signals
        from lims.queries import register_lookups

        connect_signals()
        pg_types.install()
        authentication.install()
        register_lookups()
        if getattr(settings, "FAST_MODEL_LOADING", True):
            loading.install()
