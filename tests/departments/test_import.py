"""Spreadsheet import of departments and windows in the admin: all rows or none, errors row by row."""

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from departments.models import Department, Window
from tests import factories

pytestmark = pytest.mark.django_db

WINDOW_HEADERS = ["部门", "窗口名称", "职责说明", "受理内容", "不受理内容", "值班人员"]
DEPARTMENT_HEADERS = ["名称", "简称", "层级", "上级部门", "联系电话", "地址", "网站", "排序", "启用"]
XLSX, CSV = "0", "1"  # positions of the formats in the admin's import form


def csv_file(headers, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_file(headers, rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def supervisor_client(client):
    """A client logged in as the information center (superuser here: the permission tests are elsewhere)."""
    user = factories.supervisor()
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    client.force_login(user)
    return client


def admin_import(client, model: str, content: bytes, file_format: str, filename: str):
    """Upload a file to the admin import page and confirm it when the dry run allows; return both pages."""
    upload = SimpleUploadedFile(filename, content)
    preview = client.post(
        reverse(f"admin:departments_{model}_import"), {"resource": "0", "format": file_format, "import_file": upload}
    )
    assert preview.status_code == 200
    confirm_form = preview.context.get("confirm_form")
    if confirm_form is None:
        return preview, None
    done = client.post(reverse(f"admin:departments_{model}_process_import"), confirm_form.initial)
    return preview, done


@pytest.fixture
def police():
    return factories.department(name="省公安厅", short_name="公安厅")


def test_good_csv_imports_windows_with_officers(supervisor_client, police):
    officer = factories.officer(username="gongan_huji")
    content = csv_file(
        WINDOW_HEADERS,
        [
            ["省公安厅", "治安户籍", "解答户口和身份证政策。", "户口迁移\n身份证", "出入境证件", "gongan_huji"],
            ["省公安厅", "出境入境", "解答护照和通行证政策。", "护照", "", ""],
        ],
    )
    preview, done = admin_import(supervisor_client, "window", content, CSV, "windows.csv")

    assert done is not None and done.status_code == 302
    household = Window.objects.get(department=police, name="治安户籍")
    assert household.accepts_list == ["户口迁移", "身份证"]
    assert list(household.officers.all()) == [officer]
    assert Window.objects.filter(department=police).count() == 2


def test_reimport_updates_instead_of_duplicating(supervisor_client, police):
    rows = [["省公安厅", "治安户籍", "旧的职责说明。", "", "", ""]]
    admin_import(supervisor_client, "window", csv_file(WINDOW_HEADERS, rows), CSV, "windows.csv")
    rows = [["省公安厅", "治安户籍", "新的职责说明。", "户口迁移", "", ""]]
    admin_import(supervisor_client, "window", csv_file(WINDOW_HEADERS, rows), CSV, "windows.csv")

    window = Window.objects.get()
    assert window.duty_statement == "新的职责说明。"
    assert window.accepts == "户口迁移"


@pytest.mark.parametrize("file_format", [CSV, XLSX])
def test_file_with_bad_rows_imports_nothing_and_names_each_row(supervisor_client, police, file_format):
    rows = [
        ["省公安厅", "治安户籍", "解答户口政策。", "", "", ""],
        ["省农机厅", "农机监理", "解答农机政策。", "", "", ""],
        ["省公安厅", "", "没有名称的窗口。", "", "", ""],
        ["省公安厅", "交通车管", "解答车管政策。", "", "", "nobody"],
    ]
    build, name = (csv_file, "windows.csv") if file_format == CSV else (xlsx_file, "windows.xlsx")
    preview, done = admin_import(supervisor_client, "window", build(WINDOW_HEADERS, rows), file_format, name)

    assert done is None, "a file with bad rows must not be offered for import"
    assert Window.objects.count() == 0
    result = preview.context["result"]
    errors = {row.number: row.error_dict for row in result.invalid_rows}
    assert sorted(errors) == [2, 3, 4]
    assert "找不到部门“省农机厅”" in errors[2]["部门"][0]
    assert "窗口名称" in errors[3]
    assert "找不到值班人员账号：nobody" in errors[4]["值班人员"][0]
    page = preview.content.decode()
    assert "本次没有导入任何数据" in page
    assert "第 3 行" in page  # the spreadsheet's line: the header is line 1, so data row 2 is line 3
    assert "找不到部门“省农机厅”" in page
    assert "此字段不能为空" in page


def test_confirming_a_file_that_went_bad_meanwhile_imports_nothing(police):
    """Even outside the admin's preview, the resource rolls back every row when one is invalid."""
    from departments.resources import WindowResource

    dataset = WindowResource().export()  # headers only
    dataset.append(["省公安厅", "治安户籍", "解答户口政策。", "", "", "", 10, "是", "08:30", "17:00", 10, "是"])
    dataset.append(["省农机厅", "农机监理", "解答农机政策。", "", "", "", 10, "是", "08:30", "17:00", 10, "是"])
    result = WindowResource().import_data(dataset, dry_run=False)

    assert result.has_validation_errors()
    assert Window.objects.count() == 0


def test_departments_import_with_parent_and_level_labels(supervisor_client):
    factories.department(name="省建设厅", short_name="建设厅")
    rows = [
        ["杭州市住房保障和房产管理局", "杭州房管局", "市级", "省建设厅", "0571-87012345", "杭州市", "", 410, "是"],
        ["省教育厅", "教育厅", "省级", "", "0571-88008800", "杭州市", "https://jyt.zj.gov.cn", 50, "是"],
    ]
    preview, done = admin_import(supervisor_client, "department", xlsx_file(DEPARTMENT_HEADERS, rows), XLSX, "d.xlsx")

    assert done is not None and done.status_code == 302
    city = Department.objects.get(name="杭州市住房保障和房产管理局")
    assert (city.level, city.parent.name, city.ordering) == ("city", "省建设厅", 410)
    assert Department.objects.get(name="省教育厅").website == "https://jyt.zj.gov.cn"


def test_department_with_bad_level_and_unknown_parent_is_reported(supervisor_client):
    rows = [
        ["省教育厅", "教育厅", "省级", "", "", "", "", 50, "是"],
        ["某某局", "", "乡级", "", "", "", "", 1, "是"],
        ["某某分局", "", "市级", "不存在的厅", "", "", "", 1, "是"],
    ]
    preview, done = admin_import(supervisor_client, "department", csv_file(DEPARTMENT_HEADERS, rows), CSV, "d.csv")

    assert done is None
    assert Department.objects.count() == 0
    errors = {row.number: row.error_dict for row in preview.context["result"].invalid_rows}
    assert "只能填：省级、市级、县级" in errors[2]["层级"][0]
    assert "找不到上级部门“不存在的厅”" in errors[3]["上级部门"][0]


def test_export_then_import_round_trips(supervisor_client, police):
    officer = factories.officer(username="gongan_jiaoguan")
    window = factories.window(police, name="交通车管", accepts="驾驶证\n机动车登记")
    window.officers.add(officer)

    url = reverse("admin:departments_window_export")
    form = supervisor_client.get(url).context["form"]
    columns = {
        name: "on" for name, field in form.fields.items() if getattr(field, "resource_name", "") == "WindowResource"
    }
    response = supervisor_client.post(url, {"resource": "0", "format": CSV, **columns})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    exported = response.content.decode("utf-8-sig")
    assert exported.splitlines()[0].startswith("部门,窗口名称,职责说明")
    assert "gongan_jiaoguan" in exported

    preview, done = admin_import(supervisor_client, "window", exported.encode(), CSV, "export.csv")
    assert done is not None
    assert Window.objects.count() == 1
    assert list(Window.objects.get().officers.all()) == [officer]
