"""The monthly assessment spreadsheet (月度考核表) as XLSX and as CSV.

The XLSX is meant to be printed and circulated: a 汇总 sheet first (ranking with scores and 环比, the
province total), then one sheet per level. Every sheet prints landscape on A4 fitted to the page width,
repeats its title and header rows on every page, freezes the name column and the header, has an
autofilter, column widths fitted to Chinese text, a total row, and the period and 定稿 state in its title.
"""

import csv
import io
import math
import unicodedata

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from infra.spreadsheet import safe_cell, safe_row

from . import ledger
from .figures import CHANGE_KEYS, DEFINITIONS_BY_KEY, HOURS, RATE, SCORE, SECONDS, Report
from .resources import RESOURCES_BY_LEVEL

SHEETS = (("department", "部门"), ("window", "窗口"), ("officer", "值班人员"))
NUMBER_FORMATS = {RATE: "0.0%", HOURS: "0.00", SECONDS: "0.0", SCORE: "0.00"}
CHANGE_FORMATS = {RATE: "+0.0%;-0.0%;0.0%", SCORE: "+0.00;-0.00;0.00"}
# The 汇总 sheet: each measure with its 环比, then the volumes a reader checks first.
SUMMARY_MEASURES = CHANGE_KEYS
SUMMARY_COUNTS = ["conversations", "valid", "offline_overdue", "offline_not_due", "cases_returned"]
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
THIN = Side(style="thin", color="BFBFBF")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_ROW = 2
# Name columns frozen on each level sheet (the cell right of and below them).
FREEZE = {"department": "B3", "window": "C3", "officer": "B3"}


def state_text(report: Report) -> str:
    """Return the 定稿 state of the period as the title shows it."""
    period = report.period
    close = report.month_close
    if close is not None:
        return f"已定稿（{timezone.localtime(close.closed_at):%Y-%m-%d %H:%M} {close.closed_by_name}）"
    if report.from_snapshot:
        return "已结月快照"
    if not period.is_closed(report.computed_at):
        not_due = report.total.figures.get("offline_not_due") or 0
        return f"本期尚未结束，数据随时更新；未到期留言 {not_due} 条不计为未答复"
    return "未定稿" if period.is_month else "自定义期间"


def title_line(report: Report) -> str:
    scope = "全部部门" if not report.department_id else (report.departments[0].name if report.departments else "")
    computed = f"{timezone.localtime(report.computed_at):%Y-%m-%d %H:%M:%S}" if report.computed_at else ""
    return (
        f"政务通网上值班室月度考核表  考核期间：{report.period.first:%Y-%m-%d} 至 {report.period.last:%Y-%m-%d}"
        f"  范围：{scope}  计算时间：{computed}  状态：{state_text(report)}"
    )


def datasets(report: Report) -> list[tuple[str, str, object]]:
    """Return (level, sheet title, tablib.Dataset) for each level, exported through the resources."""
    rows = {"department": report.departments, "window": report.windows, "officer": report.officers}
    return [(level, title, RESOURCES_BY_LEVEL[level]().export(rows[level])) for level, title in SHEETS]


def _figure_key(resource_cls, column: int) -> str | None:
    field = resource_cls().get_export_fields()[column]
    if not field.attribute or not field.attribute.startswith("figures__"):
        return None
    return field.attribute.split("__")[-1]


def _text_width(value) -> int:
    """Return the display width of a value in character cells: a Chinese character takes two."""
    if value is None:
        return 0
    if isinstance(value, float):
        text = f"{value:.2f}"
    else:
        text = str(value)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _fit_columns(sheet, *, header_row: int, first_row: int, header_max: int = 8) -> None:
    """Fit each column to its widest value; a header wider than header_max wraps onto more lines, never clipped."""
    header_lines = 1
    for column_cells in sheet.iter_cols(min_row=header_row, max_row=sheet.max_row):
        header, data = column_cells[0], column_cells[first_row - header_row :]
        widest = max([_text_width(cell.value) for cell in data] + [4])
        if any(cell.number_format.endswith("%") for cell in data if cell.value is not None):
            widest = max(widest, 7)
        header_width = _text_width(header.value)
        inner = max(widest, min(header_width, header_max), math.ceil(header_width / 3))
        header_lines = max(header_lines, math.ceil(header_width / inner) if header_width else 1)
        # Two character cells of padding: Excel, WPS and LibreOffice draw Chinese text slightly wider.
        wraps = header_width > inner
        sheet.column_dimensions[header.column_letter].width = min(inner + (3 if wraps else 2), 60)
    sheet.row_dimensions[header_row].height = 16 * header_lines + 6


def _print_setup(sheet, *, title_rows: str, freeze: str, filter_ref: str) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.horizontalCentered = True
    # Printed grid lines instead of a border on every cell: the same page, a fraction of the styles to write.
    sheet.print_options.gridLines = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.print_title_rows = title_rows
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    sheet.freeze_panes = freeze
    sheet.auto_filter.ref = filter_ref


def _style_header(row) -> None:
    for cell in row:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")


def _title(sheet, text: str, columns: int) -> None:
    sheet.cell(row=1, column=1, value=safe_cell(text)).font = Font(bold=True, size=12)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(columns, 1))
    sheet["A1"].alignment = Alignment(wrap_text=True, vertical="center")
    sheet.row_dimensions[1].height = 36


def _summary_sheet(workbook, report: Report, title: str) -> None:
    """汇总: every department ranked by score with each measure and its 环比, then the province total."""
    sheet = workbook.create_sheet("汇总", 0)
    headers, formats = ["排名", "部门"], [None, None]
    for key in SUMMARY_MEASURES:
        definition = DEFINITIONS_BY_KEY[key]
        headers += [definition.label, "环比"]
        formats += [NUMBER_FORMATS.get(definition.kind), CHANGE_FORMATS.get(definition.kind)]
    for key in SUMMARY_COUNTS:
        headers.append(DEFINITIONS_BY_KEY[key].label)
        formats.append(None)
    _title(sheet, f"{report.period.label}考核汇总  " + title, len(headers))
    sheet.append(headers)
    _style_header(sheet[HEADER_ROW])
    ranked = sorted(report.departments, key=lambda row: (row.figures.get("rank") is None, row.figures.get("rank") or 0))

    def values(row) -> list:
        cells = []
        for key in SUMMARY_MEASURES:
            cells += [row.figures.get(key), row.figures.get(f"{key}_change")]
        return cells + [row.figures.get(key) for key in SUMMARY_COUNTS]

    for row in ranked:
        sheet.append([row.figures.get("rank"), safe_cell(row.name), *values(row)])
    sheet.append([None, "全省合计", *values(report.total)])
    last = sheet.max_row
    for cells in sheet.iter_rows(min_row=HEADER_ROW + 1, max_row=last):
        for cell, number_format in zip(cells, formats):
            if number_format:
                cell.number_format = number_format
    for cell in sheet[last]:
        cell.font = Font(bold=True)
        cell.fill = TOTAL_FILL
    _fit_columns(sheet, header_row=HEADER_ROW, first_row=HEADER_ROW + 1)
    _print_setup(
        sheet,
        title_rows=f"1:{HEADER_ROW}",
        freeze="C3",
        filter_ref=f"A{HEADER_ROW}:{get_column_letter(len(headers))}{last - 1}",
    )
    note = last + 2
    sheet.cell(
        row=note,
        column=1,
        value="说明：得分按当年考核细则加权；环比为与上月相比的变化（比率为百分点）；无数据的指标显示为空。",
    )


LEDGER_HEADERS = [
    "值班人员",
    "日期",
    "部门",
    "窗口",
    "应值班时段",
    "应值班（小时）",
    "值班时段内在线（小时）",
    "在线（小时）",
    "首次上线",
    "最后在线",
    "迟到（分钟）",
    "早退（分钟）",
    "备注",
]


def _ledger_sheet(workbook, report: Report, title: str) -> None:
    """值班台账: per officer and working day, duty against online time, late starts and early leaves."""
    now = timezone.now() if report.from_snapshot else report.computed_at
    rows = ledger.duty_ledger(report.period, department_id=report.department_id, now=now)
    sheet = workbook.create_sheet("值班台账")
    _title(sheet, "值班台账  " + title, len(LEDGER_HEADERS))
    sheet.append(LEDGER_HEADERS)
    _style_header(sheet[HEADER_ROW])

    def clock(moment):
        return f"{timezone.localtime(moment):%H:%M}" if moment else None

    for row in rows:
        sheet.append(
            [
                safe_cell(row.officer),
                f"{row.day:%Y-%m-%d}",
                safe_cell(row.department),
                safe_cell(row.window),
                row.duty_text,
                row.duty_hours,
                row.covered_hours,
                row.online_hours,
                clock(row.first_online),
                clock(row.last_online),
                row.late_minutes,
                row.early_minutes,
                row.note or None,
            ]
        )
    sheet.append(
        [
            "合计",
            None,
            None,
            None,
            None,
            round(sum(row.duty_hours for row in rows), 2),
            round(sum(row.covered_hours for row in rows), 2),
            round(sum(row.online_hours for row in rows), 2),
            None,
            None,
            sum(1 for row in rows if row.late_minutes),
            sum(1 for row in rows if row.early_minutes),
            f"迟到、早退列合计为天数；未上线 {sum(1 for row in rows if row.absent and not row.running)} 天",
        ]
    )
    last = sheet.max_row
    for cells in sheet.iter_rows(min_row=HEADER_ROW + 1, max_row=last, min_col=6, max_col=8):
        for cell in cells:
            cell.number_format = "0.00"
    for cell in sheet[last]:
        cell.font = Font(bold=True)
        cell.fill = TOTAL_FILL
    _fit_columns(sheet, header_row=HEADER_ROW, first_row=HEADER_ROW + 1)
    _print_setup(
        sheet,
        title_rows=f"1:{HEADER_ROW}",
        freeze="C3",
        filter_ref=f"A{HEADER_ROW}:{get_column_letter(len(LEDGER_HEADERS))}{max(last - 1, HEADER_ROW)}",
    )


def workbook_bytes(report: Report) -> bytes:
    """Return the XLSX: 汇总, 部门 / 窗口 / 值班人员 (title, headers, rows, total row), then 值班台账."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    title = title_line(report)
    for level, sheet_title, dataset in datasets(report):
        sheet = workbook.create_sheet(sheet_title)
        _title(sheet, title, min(len(dataset.headers), 16))
        sheet.append(safe_row(dataset.headers))
        _style_header(sheet[HEADER_ROW])
        for row in dataset:
            sheet.append(safe_row(row))
        resource_cls = RESOURCES_BY_LEVEL[level]
        keys = [_figure_key(resource_cls, column) for column in range(len(dataset.headers))]
        total = [None] * len(keys)
        total[0] = "全省合计"
        for column, key in enumerate(keys):
            if key:
                total[column] = report.total.figures.get(key) if key != "rank" else None
        sheet.append(total)
        last = sheet.max_row
        for column, key in enumerate(keys, start=1):
            definition = DEFINITIONS_BY_KEY.get(key)
            number_format = NUMBER_FORMATS.get(definition.kind) if definition else None
            if number_format:
                for (cell,) in sheet.iter_rows(min_row=HEADER_ROW + 1, max_row=last, min_col=column, max_col=column):
                    cell.number_format = number_format
        for cell in sheet[last]:
            cell.font = Font(bold=True)
            cell.fill = TOTAL_FILL
        _fit_columns(sheet, header_row=HEADER_ROW, first_row=HEADER_ROW + 1)
        _print_setup(
            sheet,
            title_rows=f"1:{HEADER_ROW}",
            freeze=FREEZE[level],
            filter_ref=f"A{HEADER_ROW}:{get_column_letter(len(keys))}{max(last - 1, HEADER_ROW)}",
        )
    _ledger_sheet(workbook, report, title)
    _summary_sheet(workbook, report, title)
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
    for _level, sheet_title, dataset in datasets(report):
        headers = list(dataset.headers)
        identity = len(headers) - len(DEFINITIONS_BY_KEY)
        if figure_headers is None:
            figure_headers = headers[identity:]
            writer.writerow(["层级", "部门", "窗口", "值班人员", *figure_headers])
        for row in dataset:
            named = dict(zip(headers[:identity], row[:identity]))
            values = ["" if value is None else value for value in row[identity:]]
            writer.writerow(
                [sheet_title, named.get("部门", ""), named.get("窗口", ""), named.get("值班人员", ""), *values]
            )
    return out.getvalue()
