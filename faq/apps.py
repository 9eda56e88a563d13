from django.apps import AppConfig


class FaqConfig(AppConfig):
    name = "faq"
    verbose_name = "常见问题"
