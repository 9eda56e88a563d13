from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "门户与账户"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .actions import record_session

        # The one hook every sign-in passes through (our pages and the admin's login alike).
        user_logged_in.connect(record_session, dispatch_uid="portal.record_session")
