"""python manage.py purge_expired [--days N] [--dry-run]"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oversight.actions import OversightError, purge_expired, retention_days


class Command(BaseCommand):
    help = "删除超过保留期限（TRANSCRIPT_RETENTION_DAYS）的已结束会话及其消息；删除前保存所涉整月的考核数据快照"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="保留天数，默认取设置 TRANSCRIPT_RETENTION_DAYS")
        parser.add_argument("--dry-run", action="store_true", help="只统计，不删除")

    def handle(self, *args, **options):
        try:
            days = options["days"] if options["days"] is not None else retention_days()
            result = purge_expired(days=days, dry_run=options["dry_run"])
        except OversightError as error:
            raise CommandError(str(error)) from None
        verb = "将删除" if options["dry_run"] else "已删除"
        self.stdout.write(
            f"保留 {days} 天：{verb} {timezone.localtime(result.cutoff):%Y-%m-%d} 之前开始的已结束会话 "
            f"{result.conversations} 个、消息 {result.messages} 条。"
        )
        if result.months_snapshotted:
            self.stdout.write(f"保存考核快照的月份：{'、'.join(result.months_snapshotted)}")
        if result.kept_open:
            self.stdout.write(f"仍未结束、予以保留的过期会话：{result.kept_open} 个")
