"""The information center imports FAQ spreadsheets (issue 14): unchanged rows skipped, GBK CSV, clear errors."""

import csv
import io

import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from faq.models import Entry
from faq.resources import EntryResource
from tests import factories

HEADERS = ["编号", "部门", "窗口", "问题", "答复", "已发布"]
CSV = "1"  # EntryAdmin.formats = [XLSX, CSV]


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def upload(client, content: bytes, name="faq.csv"):
    preview = client.post(
        reverse("admin:faq_entry_import"),
        {"resource": "0", "format": CSV, "import_file": SimpleUploadedFile(name, content)},
    )
    assert preview.status_code == 200
    form = preview.context.get("confirm_form")
    done = client.post(reverse("admin:faq_entry_process_import"), form.initial) if form is not None else None
    return preview, done


def test_reimporting_skips_unchanged_rows_and_previews_only_changes(client, corpus):
    client.force_login(factories.supervisor())
    before = {e.key: e.updated_at for e in Entry.objects.all()}
    rows = [
        [e.key, e.department.name, e.window.name if e.window else "", e.question, e.answer, "是"]
        for e in Entry.objects.select_related("department", "window").order_by("key")
    ]
    rows[0][4] = rows[0][4] + "（已更新）"
    preview, done = upload(client, csv_bytes(rows))
    html = preview.content.decode()
    assert "（已更新）" in html
    assert rows[1][3] not in html  # an unchanged row is not listed
    assert done.status_code == 302
    after = {e.key: e.updated_at for e in Entry.objects.all()}
    changed = [key for key in before if before[key] != after[key]]
    assert changed == [rows[0][0]]


def test_a_csv_saved_as_gbk_by_excel_imports(client, places):
    client.force_login(factories.supervisor())
    rows = [["mzt-500", "省民政厅", "婚姻登记", "补领结婚证要带什么？", "带身份证和户口簿到原登记机关。", "是"]]
    preview, done = upload(client, csv_bytes(rows, encoding="gbk"))
    assert done is not None and done.status_code == 302
    assert Entry.objects.get(key="mzt-500").question == "补领结婚证要带什么？"


def test_bad_rows_are_listed_by_spreadsheet_line_with_chinese_column_names(client, places):
    client.force_login(factories.supervisor())
    rows = [
        ["mzt-501", "省民政厅", "婚姻登记", "好问题？", "好答复。", "是"],
        ["mzt-502", "省农机厅", "", "问题？", "答复。", "是"],
        ["mzt-503", "省民政厅", "不存在的窗口", "问题？", "答复。", "也许"],
    ]
    preview, done = upload(client, csv_bytes(rows))
    assert done is None
    html = preview.content.decode()
    assert "第 3 行" in html and "第 4 行" in html and "第 2 行" not in html
    assert "<strong>部门</strong>" in html and "<strong>窗口</strong>" in html and "<strong>已发布</strong>" in html
    assert "DEPARTMENT" not in html and "Value could not be parsed" not in html
    assert not Entry.objects.filter(key__startswith="mzt-50").exists()


def test_an_unreadable_file_gets_a_chinese_message(client, places):
    client.force_login(factories.supervisor())
    preview = client.post(
        reverse("admin:faq_entry_import"),
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("faq.xlsx", b"not a spreadsheet")},
    )
    assert "无法读取这个文件" in preview.content.decode()


def test_the_check_of_a_file_holds_no_transaction_and_the_confirm_only_short_ones(corpus):
    """A preview must not hold SQLite's one write lock while it checks 10,000 rows (logins waited on it)."""
    dataset = tablib.Dataset(
        *[(f"lock-{n}", "省公安厅", "交通车管", f"第{n}个问题？", "答复。", "否") for n in range(30)], headers=HEADERS
    )
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql.split(None, 1)[0].upper())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        preview = EntryResource().import_data(dataset, dry_run=True, raise_errors=False)
    assert not preview.has_errors() and len(preview.rows) == 30
    assert not {"BEGIN", "SAVEPOINT", "INSERT", "UPDATE", "DELETE"} & set(statements)
    assert not Entry.objects.filter(key__startswith="lock-").exists()

    statements.clear()
    with connection.execute_wrapper(record):
        done = EntryResource().import_data(dataset, dry_run=False, raise_errors=False)
    assert not done.has_errors() and Entry.objects.filter(key__startswith="lock-").count() == 30
    # One short transaction per saved row (a savepoint here, inside the test's own transaction), none around the file.
    assert statements[: statements.index("INSERT")].count("SAVEPOINT") == 1
    assert statements.count("SAVEPOINT") == 30
