"""python manage.py assess --month 2026-10 --xlsx out.xlsx [--csv out.csv] [--department ID]

Any other period: --from 2026-10-01 --to 2026-10-15 instead of --month.
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from oversight import exports, figures
from oversight.actions import record_audit
from oversight.models import AuditAction
from oversight.periods import PeriodError, parse_month, parse_span, previous_month
from oversight.selectors import departments


class Command(BaseCommand):
    help = "生成月度考核表（XLSX 每个层级一张工作表：部门 / 窗口 / 值班人员；CSV 一张表）"

    def add_arguments(self, parser):
        parser.add_argument("--month", help="考核月份 YYYY-MM，默认上个月")
        parser.add_argument(
            "--from", dest="first", help="自定义期间的开始日期 YYYY-MM-DD（与 --to 一起使用，代替 --month）"
        )
        parser.add_argument("--to", dest="last", help="自定义期间的结束日期 YYYY-MM-DD（含当天）")
        parser.add_argument("--xlsx", help="写出 XLSX 文件的路径")
        parser.add_argument("--csv", help="写出 CSV 文件的路径（UTF-8，带 BOM，Excel 可直接打开）")
        parser.add_argument("--department", type=int, help="只统计这个部门（编号）")

    def handle(self, *args, **options):
        try:
            if options["first"] or options["last"]:
                if options["month"]:
                    raise PeriodError("--month 与 --from/--to 只能选一种。")
                period = parse_span(options["first"], options["last"])
            else:
                period = parse_month(options["month"]) if options["month"] else previous_month()
        except PeriodError as error:
            raise CommandError(str(error)) from None
        if not options["xlsx"] and not options["csv"]:
            raise CommandError("请用 --xlsx 或 --csv 指定输出文件。")
        department_id = options["department"]
        if department_id and not departments(department_id).exists():
            raise CommandError(f"没有编号为 {department_id} 的部门。")
        targets = [Path(p) for p in (options["xlsx"], options["csv"]) if p]
        for target in targets:
            if not target.parent.exists():
                raise CommandError(f"输出目录不存在：{target.parent}")
        started = time.perf_counter()
        report = figures.report_for(period, department_id=department_id)
        computed = time.perf_counter()
        if options["xlsx"]:
            Path(options["xlsx"]).write_bytes(exports.workbook_bytes(report))
        if options["csv"]:
            Path(options["csv"]).write_text(exports.csv_text(report), encoding="utf-8-sig")
        written = time.perf_counter()
        record_audit(
            actor=None,
            action=AuditAction.EXPORT_ASSESSMENT,
            object_type="考核表",
            object_id=period.first.strftime("%Y-%m") if period.is_month else f"{period.first}~{period.last}",
            summary=f"命令行导出{period.label}考核表：{'、'.join(str(t) for t in targets)}",
        )
        self.stdout.write(
            f"{period.label}：部门 {len(report.departments)} 个，窗口 {len(report.windows)} 个，值班人员 {len(report.officers)} 人；"
            f"咨询 {report.total['conversations']} 个。计算 {computed - started:.2f} 秒，写出 {written - computed:.2f} 秒。"
        )
        for target in targets:
            self.stdout.write(f"已写出 {target}")
