"""Control: no export hands staff a live formula or a broken workbook.

ONE walk over every admin that exports (found at run time, so a new one cannot be forgotten) and the
assessment download, with hostile text in every place a citizen, an officer or an admin can type.
"""

import csv
import io

import openpyxl
import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from import_export.admin import ExportMixin

from chat import actions
from faq.models import Entry
from infra import audit
from infra.spreadsheet import FORMULA_STARTS, SafeExportMixin, safe_cell
from portal.models import Role, User
from tests import factories

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example","x")'
HOSTILE = [FORMULA, "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", "控制\x01字符"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (FORMULA, "'" + FORMULA),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A", "'@A"),
        ("\tA", "'\tA"),
        ("\rA", "'\rA"),
        ("a\x01b\x1fc", "abc"),
        ("\x01=1", "'=1"),
        ("驾驶证", "驾驶证"),
        (12, 12),
        (None, None),
    ],
)
def test_safe_cell(text, expected):
    assert safe_cell(text) == expected


@pytest.fixture
def hostile_province():
    department = factories.department(name=FORMULA, short_name="+公安")
    window = factories.window(department, name="-交通车管", duty_statement="@受理", accepts="\t驾驶证")
    officer = factories.officer(window, username="officer_hostile")
    User.objects.filter(pk=officer.pk).update(display_name="=1+1")
    officer.refresh_from_db()
    citizen = factories.citizen()
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.acknowledge_statement(conversation=conversation, citizen=citizen)
    actions.send_message(conversation=conversation, sender=citizen, body=FORMULA, client_id="c1")
    actions.take_conversation(officer=officer, conversation=conversation)
    actions.send_message(conversation=conversation, sender=officer, body="控制\x01字符", client_id="o1")
    actions.close_conversation(conversation=conversation, by=citizen)
    actions.rate_conversation(conversation=conversation, citizen=citizen, rating=5, comment="=1+2 控制\x01字符")
    Entry.objects.create(department=department, window=window, question=FORMULA, answer="+答复\x01", key="hostile")
    audit.record(actor=officer, action=audit.SEARCH_CONTENT, summary="@检索 " + FORMULA)
    return department


@pytest.fixture
def admin_client():
    user = factories.supervisor()
    User.objects.filter(pk=user.pk).update(role=Role.ADMIN, is_superuser=True)
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))
    return client


def cells_of(response, title: str) -> list[str]:
    if title == "xlsx":
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))  # fails on a broken workbook
        return [str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row if c.value is not None]
    text = response.content.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_safe(cells: list[str], where: str, *, hostile_expected: bool = True) -> None:
    if hostile_expected:
        assert any("HYPERLINK" in cell or "=1+" in cell for cell in cells), f"{where}: the hostile rows are missing"
    for cell in cells:
        assert not cell.startswith(FORMULA_STARTS), f"{where}: live formula {cell!r}"
        assert "\x01" not in cell, f"{where}: control character in {cell!r}"


def test_every_admin_export_and_the_assessment_neutralise_formulas(hostile_province, admin_client):
    exporting = [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, ExportMixin)
    ]
    assert len(exporting) >= 5
    for model, model_admin in exporting:
        for resource in model_admin.get_export_resource_classes(None):
            assert issubclass(resource, SafeExportMixin), f"{resource.__name__} must inherit infra.spreadsheet"
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_export")
        form = admin_client.get(url).context["form"]
        columns = {name: "on" for name, field in form.fields.items() if getattr(field, "resource_name", "")}
        for index, file_format in enumerate(model_admin.get_export_formats()):
            title = file_format().get_title()
            response = admin_client.post(url, {"resource": "0", "format": str(index), **columns})
            assert response.status_code == 200, (url, title)
            where = f"{model._meta.label} {title}"
            # A new exporting admin is checked too; the hostile rows above cover these models.
            covered = model._meta.model_name in ("department", "window", "transcript", "auditlog", "entry")
            assert_safe(cells_of(response, title), where, hostile_expected=covered)

    month = timezone.localdate().replace(day=1)
    download = reverse("admin:oversight_assessment_download")
    for fmt, title in (("xlsx", "xlsx"), ("csv", "csv")):
        response = admin_client.get(download, {"period": f"{month:%Y-%m}", "format": fmt})
        assert response.status_code == 200, response.content[:500]
        assert_safe(cells_of(response, title), f"assessment {title}")


def test_assess_command_writes_neutralised_xlsx_and_csv(hostile_province, tmp_path):
    from django.core.management import call_command

    month = timezone.localdate().replace(day=1)
    xlsx, csv_path = tmp_path / "a.xlsx", tmp_path / "a.csv"
    call_command(
        "assess", "--month", f"{month:%Y-%m}", "--xlsx", str(xlsx), "--csv", str(csv_path), stdout=io.StringIO()
    )
    workbook = openpyxl.load_workbook(xlsx)
    cells = [str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row if c.value is not None]
    assert_safe(cells, "assess xlsx")
    rows = csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig")))
    assert_safe([cell for row in rows for cell in row], "assess csv")
