from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "督查考核"

    def ready(self):
        from infra.audit import audit_requested

        from .actions import record_audit

        def append_entry(sender, signal, **entry):
            # Apps below oversight ask for entries through infra.audit (they cannot import oversight).
            record_audit(**entry)

        audit_requested.connect(append_entry, dispatch_uid="oversight.append_entry", weak=False)
