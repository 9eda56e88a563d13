from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "门户与账户"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from . import actions, checks  # noqa: F401  (checks registers the deploy check)

        # The one hook every sign-in passes through (our pages and the admin's login alike).
        user_logged_in.connect(actions.record_session, dispatch_uid="portal.record_session")

        def close_sockets_of_session(sender, request, user, **kwargs):
            # Every logout (the portal's and the admin's) ends the sockets opened with that session.
            if user is not None:
                actions.end_session_sockets(user=user, session_key=request.session.session_key)

        user_logged_out.connect(close_sockets_of_session, dispatch_uid="portal.close_sockets_of_session")
