"""The assessment workbook as a circulated document: 汇总 first, print settings, widths; LibreOffice opens it."""

import datetime
import io
import re
import shutil
import subprocess
import unicodedata

import openpyxl
import pytest

from oversight import exports, figures
from oversight.actions import close_month
from oversight.periods import month_period
from tests.services import missing

from .conftest import NOW, at

OCTOBER = month_period(datetime.date(2026, 10, 1))


def width_of(text) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in str(text or ""))


@pytest.fixture
def book(october):
    return openpyxl.load_workbook(io.BytesIO(exports.workbook_bytes(figures.report_for(OCTOBER, now=at(NOW)))))


def test_summary_sheet_ranks_departments_with_scores_changes_and_total(book):
    assert book.sheetnames[0] == "汇总"
    sheet = book["汇总"]
    title = sheet["A1"].value
    assert "2026年10月考核汇总" in title and "考核期间：2026-10-01 至 2026-10-31" in title and "状态：未定稿" in title
    headers = [cell.value for cell in sheet[2]]
    assert headers[:5] == ["排名", "部门", "得分", "环比", "答复率"]
    rows = [row for row in sheet.iter_rows(min_row=3, values_only=True) if row[1]]
    # 省公安厅 scores higher than 省劳动保障厅; the province total closes the table.
    assert [row[1] for row in rows[:3]] == ["省公安厅", "省劳动保障厅", "全省合计"]
    assert [row[0] for row in rows[:3]] == [1, 2, None]
    labour = dict(zip(headers, rows[1]))
    assert labour["答复率"] == 0.75
    answer_change = rows[1][headers.index("答复率") + 1]
    assert answer_change == -0.25  # September's only valid question was answered
    assert sheet.cell(row=4, column=headers.index("答复率") + 2).number_format == "+0.0%;-0.0%;0.0%"
    assert dict(zip(headers, rows[2]))["咨询量"] == 12


def test_every_sheet_prints_landscape_a4_fitted_to_width_with_repeated_headers(book):
    for name in book.sheetnames:
        sheet = book[name]
        assert sheet.page_setup.orientation == "landscape", name
        assert int(sheet.page_setup.paperSize) == 9, name  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (int(sheet.page_setup.fitToWidth), int(sheet.page_setup.fitToHeight)) == (1, 0)
        assert sheet.print_title_rows == "$1:$2"
        assert sheet.auto_filter.ref.startswith("A2:")
    assert book.sheetnames == ["汇总", "部门", "窗口", "值班人员", "值班台账"]
    assert book["汇总"].freeze_panes == "C3"
    assert book["部门"].freeze_panes == "B3"
    assert book["窗口"].freeze_panes == "C3"
    assert book["值班人员"].freeze_panes == "B3"
    # The filter covers the data rows but not the total row.
    department = book["部门"]
    assert department.auto_filter.ref.endswith(str(department.max_row - 1))
    assert department.cell(row=department.max_row, column=1).value == "全省合计"


def test_no_header_or_value_is_clipped(book):
    for name in book.sheetnames:
        sheet = book[name]
        lines = (sheet.row_dimensions[2].height - 6) / 16
        for cell in sheet[2]:
            width = sheet.column_dimensions[cell.column_letter].width
            assert (width - 2) * lines >= width_of(cell.value), (name, cell.value, width, lines)
            for (value,) in sheet.iter_rows(min_row=3, min_col=cell.column, max_col=cell.column, values_only=True):
                if isinstance(value, str) and not value.startswith("说明"):
                    assert width - 2 >= width_of(value), (name, value, width)


def test_frozen_month_says_so_in_every_title(october, supervisor):
    close_month(period=OCTOBER, actor=supervisor, now=at(NOW))
    book = openpyxl.load_workbook(io.BytesIO(exports.workbook_bytes(figures.report_for(OCTOBER))))
    assert all("状态：已定稿（2026-11-05 10:00" in book[name]["A1"].value for name in book.sheetnames)


def test_running_period_title_counts_not_yet_due_questions(october):
    report = figures.compute(OCTOBER, now=at("2026-10-31 08:00"))
    title = exports.title_line(report)
    assert "本期尚未结束" in title and "未到期留言 1 条不计为未答复" in title


def test_libreoffice_opens_and_prints_the_workbook(book, october, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        missing("LibreOffice (soffice) is not installed")
    source = tmp_path / "assessment.xlsx"
    source.write_bytes(exports.workbook_bytes(figures.report_for(OCTOBER, now=at(NOW))))
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = (tmp_path / "assessment.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") or pdf.count(b"/Type/Page") - pdf.count(
        b"/Type/Pages"
    )
    # Fitted to the width: every sheet is one page wide; the 值班台账 (4 officers x 21 days) runs to a few pages.
    assert 5 <= pages <= 8
    # A4 landscape: 842 x 595 points on every page.
    assert re.findall(rb"MediaBox\[\s*0 0 (\d+)\.?\d* (\d+)", pdf) == [(b"841", b"595")] * (pages + 1)


def test_duty_ledger_sheet(book):
    sheet = book["值班台账"]
    headers = [cell.value for cell in sheet[2]]
    rows = [dict(zip(headers, row)) for row in sheet.iter_rows(min_row=3, values_only=True)]
    a12 = next(row for row in rows if row["值班人员"] == "值班员 张丘" and row["日期"] == "2026-10-12")
    assert (a12["应值班时段"], a12["首次上线"], a12["最后在线"]) == ("08:30–17:00", "08:30", "14:00")
    assert (a12["迟到（分钟）"], a12["早退（分钟）"], a12["值班时段内在线（小时）"]) == (0, 180, 4.5)
    assert rows[-1]["值班人员"] == "合计" and rows[-1]["应值班（小时）"] == 178.5 * 3 + 63.0
    assert len(rows) == 4 * 21 + 1
    assert sheet.freeze_panes == "C3" and sheet.print_title_rows == "$1:$2"
