from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "sms"
    verbose_name = "短信"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy check)
