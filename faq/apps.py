from django.apps import AppConfig

# Imported with the app registry, before any module loads numpy: sets OPENBLAS_NUM_THREADS.
import faq.engine  # noqa: F401


class FaqConfig(AppConfig):
    name = "faq"
    verbose_name = "常见问题"
