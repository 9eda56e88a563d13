"""The monthly assessment spreadsheet (月度考核表) as XLSX (one sheet per level) and as CSV."""
import csv
import io

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from .figures import DEFINITIONS_BY_KEY, HOURS, RATE, SCORE, SECONDS, Report
from infra.spreadsheet import safe_cell, safe_row

from .resources import RESOURCES_BY_LEVEL

SHEETS = (("department", "部门"), ("window", "窗口"), ("officer", "值班人员"))
NUMBER_FORMATS = {RATE: "0.0%", HOURS: "0.00", SECONDS: "0.0", SCORE: "0.00"}


def title_line(report: Report) -> str:
    scope = "全部部门" if not report.department_id else (report.departments[0].name if report.departments else "")
    computed = f"{timezone.localtime(report.computed_at):%Y-%m-%d %H:%M:%S}" if report.computed_at else ""
    source = "（已结月快照）" if report.from_snapshot else ""
    return (f"政务通网上值班室月度考核表  考核期间：{report.period.first:%Y-%m-%d} 至 {report.period.last:%Y-%m-%d}"
            f"  范围：{scope}  计算时间：{computed}{source}")


def datasets(report: Report) -> list[tuple[str, str, object]]:
    """Return (level, sheet title, tablib.Dataset) for each level, exported through the resources."""
    rows = {"department": report.departments, "window": report.windows, "officer": report.officers}
    return [(level, title, RESOURCES_BY_LEVEL[level]().export(rows[level])) for level, title in SHEETS]


def _number_format(resource_cls, column: int) -> str | None:
    fields = resource_cls().get_export_fields()
    key = fields[column].attribute.split("__")[-1] if fields[column].attribute else ""
    definition = DEFINITIONS_BY_KEY.get(key)
    if definition is None or not fields[column].attribute.startswith("figures__"):
        return None
    return NUMBER_FORMATS.get(definition.kind)


def workbook_bytes(report: Report) -> bytes:
    """Return the XLSX: per sheet a title row (period, computed-at), the Chinese headers, then one row per unit."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    title = title_line(report)
    for level, sheet_title, dataset in datasets(report):
        sheet = workbook.create_sheet(sheet_title)
        sheet.append([safe_cell(title)])
        sheet["A1"].font = Font(bold=True)
        sheet.append(safe_row(dataset.headers))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in dataset:
            sheet.append(safe_row(row))
        resource_cls = RESOURCES_BY_LEVEL[level]
        for column in range(len(dataset.headers)):
            letter = get_column_letter(column + 1)
            number_format = _number_format(resource_cls, column)
            if number_format:
                for cell in sheet[letter][2:]:
                    cell.number_format = number_format
            sheet.column_dimensions[letter].width = 14 if number_format else 18
        sheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class _SafeWriter:
    """A csv writer whose every cell goes through safe_cell."""

    def __init__(self, writer):
        self.writer = writer

    def writerow(self, row) -> None:
        self.writer.writerow(safe_row(row))


def csv_text(report: Report) -> str:
    """Return the CSV: a title row, then one header and all three levels with a 层级 column."""
    out = io.StringIO()
    writer = _SafeWriter(csv.writer(out))
    writer.writerow([title_line(report)])
    figure_headers = None
    for level, sheet_title, dataset in datasets(report):
        headers = list(dataset.headers)
        identity = len(headers) - len(DEFINITIONS_BY_KEY)
        if figure_headers is None:
            figure_headers = headers[identity:]
            writer.writerow(["层级", "部门", "窗口", "值班人员", *figure_headers])
        for row in dataset:
            named = dict(zip(headers[:identity], row[:identity]))
            values = ["" if value is None else value for value in row[identity:]]
            writer.writerow([sheet_title, named.get("部门", ""), named.get("窗口", ""), named.get("值班人员", ""), *values])
    return out.getvalue()
