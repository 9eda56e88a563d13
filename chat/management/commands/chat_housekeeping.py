"""Expire desks whose heartbeats stopped and send busy notices; for cron when no page is open to do it."""

from django.core.management.base import BaseCommand

from chat import actions


class Command(BaseCommand):
    help = "清理失去心跳的值班台连接，并向等待过久的市民发送忙碌提示。"

    def handle(self, *args, **options):
        expired = actions.expire_stale_desks()
        notices = actions.send_busy_notices()
        self.stdout.write(f"离线值班人员 {expired} 名，忙碌提示 {notices} 条")
