from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "督查考核"

    def ready(self):
        # The apps below write the audit log through infra.audit (they may not import oversight).
        from infra import audit

        from .actions import record_audit

        audit.register_writer(record_audit)
