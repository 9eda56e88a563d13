"""Oversight pages in the admin: who may see them, what they show, and the audit trail of transcripts."""

import io

import openpyxl
import pytest
from django.urls import reverse

from chat.models import Message, SenderKind
from oversight.models import AppendOnlyError, AuditLog
from portal.models import Role

from .conftest import make_user

DASHBOARD = reverse("admin:oversight_assessment_changelist")
WEEKLY = reverse("admin:oversight_assessment_weekly")
DOWNLOAD = reverse("admin:oversight_assessment_download")
TRANSCRIPTS = reverse("admin:oversight_transcript_changelist")
AUDIT = reverse("admin:oversight_auditlog_changelist")


def transcript_url(conversation):
    return reverse("admin:oversight_transcript_change", args=[conversation.pk])


@pytest.fixture
def chat_c1(october):
    c1 = october["c1"]
    Message.objects.create(
        conversation=c1,
        seq=1,
        sender=c1.citizen,
        sender_kind=SenderKind.CITIZEN,
        body="已经失业了，医疗保险没交，能不能补交？",
    )
    Message.objects.create(
        conversation=c1,
        seq=2,
        sender=october["a"],
        sender_kind=SenderKind.OFFICER,
        body="可以到户籍所在地社保经办机构申请补缴。",
    )
    return c1


def test_supervisor_sees_the_dashboard_with_figures_and_help(client, supervisor, october):
    client.force_login(supervisor)
    response = client.get(DASHBOARD, {"month": "2026-10"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "省劳动保障厅" in html and "值班员 张丘" in html
    assert "75.0%" in html  # answer rate of 劳动保障厅
    assert "已答复 ÷（有效咨询 − 未到期未答复的有效留言）" in html  # the definition beside the figure
    assert html.count("<svg") >= 4


def test_dashboard_department_filter_and_bad_input(client, supervisor, october):
    client.force_login(supervisor)
    html = client.get(DASHBOARD, {"month": "2026-10", "department": october["police"].id}).content.decode()
    assert "值班员 王军" in html and "值班员 张丘" not in html
    response = client.get(DASHBOARD, {"month": "2026-99", "department": "abc"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "没有这个月份" in html and "没有这个部门" in html


def test_download_gives_the_workbook_and_is_audited(client, supervisor, october):
    client.force_login(supervisor)
    response = client.get(DOWNLOAD, {"month": "2026-10"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="assessment-2026-10.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["汇总", "部门", "窗口", "值班人员", "值班台账"]
    csv_response = client.get(DOWNLOAD, {"month": "2026-10", "format": "csv"})
    assert csv_response.content.decode("utf-8-sig").startswith("政务通网上值班室月度考核表")
    entries = AuditLog.objects.filter(action="export_assessment", actor=supervisor)
    assert entries.count() == 2


def test_weekly_report_shows_figures_and_hot_questions(client, supervisor, chat_c1, october):
    client.force_login(supervisor)
    response = client.get(WEEKLY, {"department": october["labour"].id, "week": "2026-10-14"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "2026-10-12 至 2026-10-18" in html
    assert "医疗保险" in html  # a keyword of the week's only question with text
    assert "已经失业了，医疗保险没交，能不能补交？" in html
    assert "window.print()" in html
    bad = client.get(WEEKLY, {"department": "999", "week": "2026-10-14"})
    assert bad.status_code == 200 and "没有这个部门" in bad.content.decode()
    bad_week = client.get(WEEKLY, {"department": october["labour"].id, "week": "next week"})
    assert "日期格式应为 YYYY-MM-DD" in bad_week.content.decode()


def test_every_transcript_opening_is_audited(client, supervisor, chat_c1):
    client.force_login(supervisor)
    for _ in range(2):
        response = client.get(transcript_url(chat_c1))
        assert response.status_code == 200
    html = response.content.decode()
    assert "已经失业了，医疗保险没交，能不能补交？" in html
    entries = AuditLog.objects.filter(action="view_transcript", object_id=str(chat_c1.pk))
    assert entries.count() == 2
    assert {entry.actor_name for entry in entries} == {supervisor.username}


def test_phone_is_masked_in_list_and_transcript(client, supervisor, chat_c1):
    client.force_login(supervisor)
    phone = chat_c1.citizen.phone
    masked = f"{phone[:3]}****{phone[7:]}"
    listing = client.get(TRANSCRIPTS).content.decode()
    detail = client.get(transcript_url(chat_c1)).content.decode()
    assert masked in listing and masked in detail
    assert phone not in listing and phone not in detail


def test_transcripts_are_searchable_and_read_only(client, supervisor, chat_c1):
    client.force_login(supervisor)
    found = client.get(TRANSCRIPTS, {"q": "补交"}).content.decode()
    assert f"{chat_c1.pk}</a>" in found
    assert client.post(transcript_url(chat_c1), {"rating": 1}).status_code == 403
    assert client.get(reverse("admin:oversight_transcript_delete", args=[chat_c1.pk])).status_code == 403


def test_transcript_export_masks_phones_and_is_audited(client, supervisor, chat_c1):
    chat_c1.rating_comment = "很满意，我的手机 139-1234-5678 随时可以回访"
    chat_c1.save(update_fields=["rating_comment"])
    client.force_login(supervisor)
    response = client.post(
        reverse("admin:oversight_transcript_export"),
        {
            "format": "1",
            "resource": "0",  # CSV (settings.IMPORT_EXPORT_FORMATS: XLSX, CSV)
            **{
                f"transcriptresource_{name}": "on"
                for name in [
                    "id",
                    "department",
                    "window",
                    "citizen",
                    "officer",
                    "status",
                    "classification",
                    "first_question_at",
                    "answered_live",
                    "is_offline_question",
                    "rating",
                    "rating_comment",
                ]
            },
        },
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    text = response.content.decode("utf-8", errors="replace")
    phone = chat_c1.citizen.phone
    assert f"{phone[:3]}****{phone[7:]}" in text and phone not in text
    assert "很满意，我的手机 〔手机号〕 随时可以回访" in text and "5678" not in text
    assert AuditLog.objects.filter(action="export_transcripts").count() == 1


def test_audit_log_cannot_be_changed_or_deleted(client, supervisor, chat_c1):
    client.force_login(supervisor)
    client.get(transcript_url(chat_c1))
    entry = AuditLog.objects.get()
    assert client.get(AUDIT).status_code == 200
    assert client.get(reverse("admin:oversight_auditlog_add")).status_code == 403
    assert client.post(reverse("admin:oversight_auditlog_change", args=[entry.pk]), {"summary": "x"}).status_code == 403
    assert client.post(reverse("admin:oversight_auditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    superuser = make_user(Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(superuser)
    assert client.post(reverse("admin:oversight_auditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    entry.summary = "改写"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditLog.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditLog.objects.update(summary="x")
    assert AuditLog.objects.get().summary.startswith("查看对话记录")


@pytest.mark.parametrize("url", [DASHBOARD, WEEKLY, DOWNLOAD, TRANSCRIPTS, AUDIT])
def test_staff_officer_gets_403(client, staff_officer, october, url):
    client.force_login(staff_officer)
    assert client.get(url).status_code == 403


def test_staff_officer_cannot_open_a_transcript_and_nothing_is_logged(client, staff_officer, chat_c1):
    client.force_login(staff_officer)
    assert client.get(transcript_url(chat_c1)).status_code == 403
    assert not AuditLog.objects.exists()


@pytest.mark.parametrize("url", [DASHBOARD, WEEKLY, TRANSCRIPTS])
def test_officer_and_citizen_are_sent_to_login(client, province, url):
    for user in (province["b"], make_user(Role.CITIZEN)):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_index_lists_oversight_for_supervisor_only(client, supervisor, staff_officer):
    client.force_login(supervisor)
    assert "考核看板" in client.get(reverse("admin:index")).content.decode()
    client.force_login(staff_officer)
    assert "考核看板" not in client.get(reverse("admin:index")).content.decode()


def test_dashboard_and_download_for_any_period(client, supervisor, october):
    client.force_login(supervisor)
    html = client.get(DASHBOARD, {"from": "2026-10-12", "to": "2026-10-13"}).content.decode()
    assert "2026-10-12 至 2026-10-13" in html
    assert "from=2026-10-12&amp;to=2026-10-13" in html
    response = client.get(DOWNLOAD, {"from": "2026-10-12", "to": "2026-10-13"})
    assert response["Content-Disposition"] == 'attachment; filename="assessment-20261012-20261013.xlsx"'
    bad = client.get(DASHBOARD, {"from": "2026-10-13", "to": "2026-10-12"}).content.decode()
    assert "结束日期不能早于开始日期" in bad


def test_weekly_report_default_is_last_week_of_the_first_department(client, supervisor, october):
    client.force_login(supervisor)
    response = client.get(WEEKLY)
    assert response.status_code == 200
    assert "省劳动保障厅 一周运行情况" in response.content.decode()
