"""The monthly assessment spreadsheet, reopened with openpyxl; CSV; formula neutralisation; the command."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from infra.spreadsheet import safe_cell as neutralise
from oversight import exports, figures
from oversight.models import AuditLog
from oversight.periods import month_period

from .conftest import NOW, at

OCTOBER = month_period(datetime.date(2026, 10, 1))


@pytest.fixture
def workbook(october):
    report = figures.compute(OCTOBER, now=at(NOW))
    return openpyxl.load_workbook(io.BytesIO(exports.workbook_bytes(report)))


def test_one_sheet_per_level_with_title_row(workbook):
    assert workbook.sheetnames == ["汇总", "部门", "窗口", "值班人员", "值班台账"]
    title = workbook["部门"]["A1"].value
    assert "考核期间：2026-10-01 至 2026-10-31" in title
    assert "计算时间：2026-11-05 10:00:00" in title


def test_department_sheet_cell_by_cell(workbook):
    sheet = workbook["部门"]
    headers = [cell.value for cell in sheet[2]]
    assert headers[:8] == [
        "部门",
        "在线时长（小时）",
        "应值班时长（小时）",
        "值班时段在线率",
        "咨询量",
        "有效咨询",
        "已答复",
        "答复率",
    ]
    rows = {row[0]: dict(zip(headers, row)) for row in sheet.iter_rows(min_row=3, values_only=True)}
    labour = rows["省劳动保障厅"]
    assert labour["在线时长（小时）"] == 20.0
    assert labour["应值班时长（小时）"] == 178.5
    assert labour["咨询量"] == 11 and isinstance(labour["咨询量"], int)
    assert labour["有效咨询"] == 8
    assert labour["已答复"] == 6
    assert labour["答复率"] == 0.75
    assert labour["即时答复率"] == 0.5
    assert labour["首次响应中位数（秒）"] == 20.0
    assert labour["首次响应 P90（秒）"] == 90.0
    assert (labour["留言数"], labour["按期处理留言"], labour["超期留言"]) == (4, 2, 2)
    assert labour["满意度平均分"] == 3.67
    assert [labour[k] for k in ("非常满意", "满意", "一般", "不满意", "非常不满意")] == [1, 1, 0, 1, 0]
    assert rows["省公安厅"]["咨询量"] == 1
    rate_cell = sheet.cell(row=3, column=headers.index("答复率") + 1)
    assert rate_cell.number_format == "0.0%" and rate_cell.data_type == "n"


def test_window_and_officer_sheets(workbook):
    windows = workbook["窗口"]
    assert [c.value for c in windows[2]][:3] == ["部门", "窗口", "在线时长（小时）"]
    names = [(row[0], row[1]) for row in windows.iter_rows(min_row=3, values_only=True)]
    assert names == [
        ("省劳动保障厅", "社会保险"),
        ("省劳动保障厅", "就业"),
        ("省公安厅", "治安户籍"),
        ("全省合计", None),
    ]
    jobs = list(windows.iter_rows(min_row=4, max_row=4, values_only=True))[0]
    assert jobs[2] == 0 and jobs[3] == 63.0
    officers = workbook["值班人员"]
    headers = [c.value for c in officers[2]]
    assert headers[:4] == ["值班人员", "部门", "窗口", "在线时长（小时）"]
    rows = {row[0]: dict(zip(headers, row)) for row in officers.iter_rows(min_row=3, values_only=True)}
    assert rows["值班员 张丘"]["在线时长（小时）"] == 19.0
    assert rows["值班员 张丘"]["答复率"] == 0.8
    # No live answer: the cell is empty, not the text "None" or 0.
    assert rows["值班员 王军"]["首次响应中位数（秒）"] == 60.0


@pytest.mark.parametrize(
    "text, expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+86 123", "'+86 123"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("正常名称", "正常名称"),
        (-3, -3),
    ],
)
def test_neutralise(text, expected):
    assert neutralise(text) == expected


def test_formula_in_user_text_is_neutralised_in_xlsx_and_csv(october):
    october["a"].display_name = "=cmd|' /C calc'!A0"
    october["a"].save(update_fields=["display_name"])
    october["jobs"].name = "@就业"
    october["jobs"].save(update_fields=["name"])
    report = figures.compute(OCTOBER, now=at(NOW))
    book = openpyxl.load_workbook(io.BytesIO(exports.workbook_bytes(report)))
    officer_names = [row[0] for row in book["值班人员"].iter_rows(min_row=3, values_only=True)]
    assert "'=cmd|' /C calc'!A0" in officer_names
    assert all(cell.data_type != "f" for row in book["值班人员"].iter_rows() for cell in row)
    assert ("省劳动保障厅", "'@就业") in [(r[0], r[1]) for r in book["窗口"].iter_rows(min_row=3, values_only=True)]
    rows = list(csv.reader(io.StringIO(exports.csv_text(report))))
    assert any(row[3] == "'=cmd|' /C calc'!A0" for row in rows[2:])


def test_csv_has_title_headers_and_levels(october):
    report = figures.compute(OCTOBER, now=at(NOW))
    rows = list(csv.reader(io.StringIO(exports.csv_text(report))))
    assert "考核期间：2026-10-01 至 2026-10-31" in rows[0][0]
    assert rows[1][:5] == ["层级", "部门", "窗口", "值班人员", "在线时长（小时）"]
    assert [row[0] for row in rows[2:]].count("部门") == 2
    labour = next(row for row in rows[2:] if row[0] == "部门" and row[1] == "省劳动保障厅")
    assert labour[rows[1].index("答复率")] == "0.75"


def test_assess_command_writes_both_files(october, tmp_path):
    xlsx, csv_path = tmp_path / "out.xlsx", tmp_path / "out.csv"
    out = io.StringIO()
    call_command("assess", "--month", "2026-10", "--xlsx", str(xlsx), "--csv", str(csv_path), stdout=out)
    assert "2026年10月" in out.getvalue()
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["汇总", "部门", "窗口", "值班人员", "值班台账"]
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert AuditLog.objects.filter(action="export_assessment", object_id="2026-10").count() == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--month", "2026-13", "--xlsx", "x.xlsx"], "没有这个月份"),
        (["--month", "2026-10"], "--xlsx 或 --csv"),
        (["--month", "2026-10", "--xlsx", "/no/such/dir/x.xlsx"], "输出目录不存在"),
        (["--month", "2026-10", "--department", "999", "--csv", "x.csv"], "没有编号为 999 的部门"),
    ],
)
def test_assess_command_refuses_bad_input(province, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandError, match=message):
        call_command("assess", *args)
    assert list(tmp_path.iterdir()) == []


def test_assess_command_any_period(october, tmp_path):
    xlsx = tmp_path / "half.xlsx"
    call_command("assess", "--from", "2026-10-12", "--to", "2026-10-13", "--xlsx", str(xlsx), stdout=io.StringIO())
    sheet = openpyxl.load_workbook(xlsx)["窗口"]
    assert "考核期间：2026-10-12 至 2026-10-13" in sheet["A1"].value
    headers = [c.value for c in sheet[2]]
    insurance = next(row for row in sheet.iter_rows(min_row=3, values_only=True) if row[1] == "社会保险")
    assert insurance[headers.index("咨询量")] == 7  # c1-c3, c5, c7, c8, c10
    assert AuditLog.objects.filter(object_id="2026-10-12~2026-10-13").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "2026-10-13", "--to", "2026-10-12"], "结束日期不能早于开始日期"),
        (["--from", "2026-10-01", "--to", "2028-10-01"], "最长 366 天"),
        (["--from", "2026-10-01"], "日期格式应为 YYYY-MM-DD"),
        (["--month", "2026-10", "--from", "2026-10-01", "--to", "2026-10-02"], "只能选一种"),
    ],
)
def test_assess_command_refuses_bad_spans(province, args, message, tmp_path):
    with pytest.raises(CommandError, match=message):
        call_command("assess", *args, "--xlsx", str(tmp_path / "x.xlsx"))
    assert list(tmp_path.iterdir()) == []
