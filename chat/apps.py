from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "网上值班室"

    def ready(self):
        from departments.actions import officer_windows_changed

        from .events import send_event_on_commit, user_group

        def follow_windows(sender, officer_ids, **kwargs):
            # The desks of these officers rejoin their windows' groups (DeskConsumer.assignments_changed).
            send_event_on_commit([user_group(officer_id) for officer_id in officer_ids], "assignments.changed", {})

        officer_windows_changed.connect(follow_windows, dispatch_uid="chat.follow_windows")
