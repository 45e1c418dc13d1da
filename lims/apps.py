from django.apps import AppConfig


class LimsConfig(AppConfig):
    name = "lims"
    label = "lims"
    verbose_name = "LIMS core"

    def ready(self) -> None:
        from django.conf import settings

        from lims import loading, pg_types
        from lims.audit import connect_signals
        from lims.queries import register_lookups

        connect_signals()
        pg_types.install()
        from django.contrib.auth.signals import user_logged_in

        from lims.authentication import remember_signed_in

        user_logged_in.connect(remember_signed_in, dispatch_uid="lims.remember_signed_in")
        register_lookups()
        if getattr(settings, "FAST_MODEL_LOADING", True):
            loading.install()
