from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data, the history generator and the seed_demo / demo_logins commands; no product code imports it."""

    name = "demo"
    verbose_name = "演示数据"
