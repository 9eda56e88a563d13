"""A citizen's rights over their personal data (PIPL arts. 45 and 47): a copy of it, and its deletion.

The portal wires every app, so the collector lives here: SECTIONS lists one selector per kind of
data (an app added later, e.g. SMS notices, appends its own), ERASERS one eraser per app. Both the
citizen (我的咨询) and the information center (admin, on a written request) come through
export_personal_data and delete_account, and each request and its completion is audited.
"""

import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cases import privacy as case_privacy
from cases.models import Case
from chat import privacy as chat_privacy
from chat.models import Conversation, Message
from faq import actions as faq_actions
from faq.models import Entry
from infra import audit
from sms import actions as sms_actions
from sms import selectors as sms_selectors

DATA_EXPORT = "data_export"  # oversight.AuditAction values, written through infra.audit
ACCOUNT_DELETE = "account_delete"


@dataclass(frozen=True)
class Section:
    """One kind of a citizen's data: a title (the sheet name) and the rows of one person."""

    title: str
    rows: Callable[[object], list[dict]]


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def account_rows(user) -> list[dict]:
    return [
        {
            "账号": user.username,
            "姓名": user.get_full_name(),
            "手机号": user.phone or "",
            "电子邮箱": user.email,
            "注册时间": _when(user.date_joined),
            "最近登录": _when(user.last_login),
        }
    ]


def _published_entries(user) -> dict[int, Entry]:
    return {e.conversation_id: e for e in Entry.objects.filter(conversation__citizen=user, is_published=True)}


def conversation_rows(user) -> list[dict]:
    published = _published_entries(user)
    return [
        {
            "咨询编号": c.id,
            "部门": c.window.department.name,
            "窗口": c.window.name,
            "状态": c.get_status_display(),
            "开始时间": _when(c.created_at),
            "结束时间": _when(c.closed_at),
            "接待人员": str(c.officer) if c.officer_id else "",
            "留言": "是" if c.is_offline_question else "否",
            "同意公开": "是" if c.publication_consent else "否",
            "同意公开的选择时间": _when(c.publication_consent_at),
            "已公开的常见问题": reverse("faq:entry", args=[published[c.id].id]) if c.id in published else "",
        }
        for c in Conversation.objects.filter(citizen=user)
        .select_related("window__department", "officer")
        .order_by("created_at")
    ]


def message_rows(user) -> list[dict]:
    return [
        {
            "咨询编号": m.conversation_id,
            "序号": m.seq,
            "发送方": m.get_sender_kind_display(),
            "时间": _when(m.created_at),
            "内容": m.body,
        }
        for m in Message.objects.filter(conversation__citizen=user).order_by("conversation_id", "seq")
    ]


def rating_rows(user) -> list[dict]:
    return [
        {
            "咨询编号": c.id,
            "满意度": c.get_rating_display(),
            "评价意见": c.rating_comment,
            "评价时间": _when(c.rated_at),
        }
        for c in Conversation.objects.filter(citizen=user, rating__isnull=False).order_by("created_at")
    ]


def case_rows(user) -> list[dict]:
    # The internal note is the departments' working note, not the citizen's data; it stays out.
    return [
        {
            "受理编号": c.tracking_number,
            "问题": c.question,
            "状态": c.get_status_display(),
            "提交时间": _when(c.created_at),
            "答复": c.reply,
            "答复时间": _when(c.replied_at),
            "办结时间": _when(c.closed_at),
        }
        for c in Case.objects.filter(citizen=user).order_by("created_at")
    ]


def _subjects(user) -> list[str]:
    conversations = Conversation.objects.filter(citizen=user).values_list("id", flat=True)
    cases = Case.objects.filter(citizen=user).values_list("id", flat=True)
    return [f"conversation:{pk}" for pk in conversations] + [f"case:{pk}" for pk in cases]


def sms_rows(user) -> list[dict]:
    return [
        {
            "时间": _when(m.created_at),
            "类型": m.get_template_display(),
            "手机号": m.masked_phone,
            "状态": m.get_status_display(),
            "内容": m.text,
        }
        for m in sms_selectors.messages_of(phone=user.phone or "", subjects=_subjects(user))
    ]


SECTIONS: list[Section] = [
    Section("账户", account_rows),
    Section("咨询", conversation_rows),
    Section("消息", message_rows),
    Section("评价", rating_rows),
    Section("转办件", case_rows),
    Section("短信通知", sms_rows),
]
# Erasers run, in order, inside delete_account's transaction; each removes one app's copy.
ERASERS: list[Callable[[object], object]] = [
    lambda user: sms_actions.forget_person(phone=user.phone or "", subjects=_subjects(user)),
    lambda user: faq_actions.forget_conversations(
        conversation_ids=list(Conversation.objects.filter(citizen=user).values_list("id", flat=True))
    ),
    lambda user: chat_privacy.deidentify_conversations(citizen=user),
    lambda user: case_privacy.deidentify_cases(citizen=user),
]


def collect(user) -> dict[str, list[dict]]:
    """Return every section of the user's data, by title."""
    return {section.title: section.rows(user) for section in SECTIONS}


def _cell(value):
    # A citizen's own text opened in Excel must not run as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def render(data: dict[str, list[dict]], fmt: str) -> tuple[bytes, str, str]:
    """Return (content, content type, file extension) of the data as JSON or XLSX."""
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"), "application/json; charset=utf-8", "json"
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in data.items():
        sheet = book.create_sheet(title)
        if not rows:
            sheet.append(["（无）"])
            continue
        sheet.append(list(rows[0]))
        for row in rows:
            sheet.append([_cell(value) for value in row.values()])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"


def _who(user, by) -> str:
    return "本人" if by is None or by.pk == user.pk else f"信息中心 {by.username}"


def export_personal_data(*, user, by=None, fmt: str = "json", request_note: str = "", ip_address: str | None = None):
    """Return (content, content type, extension) of all the user's data; audit the request."""
    if fmt not in ("json", "xlsx"):
        raise ValueError(fmt)
    content = render(collect(user), fmt)
    note = f"；书面申请：{request_note}" if request_note else ""
    audit.record(
        actor=by or user,
        action=DATA_EXPORT,
        object_type="用户",
        object_id=user.pk,
        summary=f"{_who(user, by)}导出个人数据（{fmt.upper()}）{note}",
        ip_address=ip_address,
    )
    return content


def delete_account(*, user, by=None, request_note: str = "", ip_address: str | None = None) -> None:
    """Close the user's account and remove their personal data; the month figures stay as they were.

    Conversations and cases keep their timestamps, windows and ratings (the assessment counts
    them) but lose the citizen's words; archived answers and drafts from them are deleted, and a
    published entry stays only if it holds no personal data. The account row stays, emptied and
    unusable, because conversations and cases refer to it. The request and its completion are audited.
    """
    who, note = _who(user, by), (f"；书面申请：{request_note}" if request_note else "")
    account = user.username
    audit.record(
        actor=by or user,
        action=ACCOUNT_DELETE,
        object_type="用户",
        object_id=user.pk,
        summary=f"{who}申请注销账户 {account} 并删除个人数据{note}",
        ip_address=ip_address,
    )
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        for erase in ERASERS:
            erase(user)
        user.username = f"deleted-{user.pk}"
        user.first_name = user.last_name = user.email = user.display_name = ""
        user.phone = None
        user.is_active = False
        user.set_unusable_password()
        user.save()
        audit.record(
            actor=by or user,
            action=ACCOUNT_DELETE,
            object_type="用户",
            object_id=user.pk,
            summary=f"已注销账户 {account}：会话、转办件已去除个人信息，账户已停用",
            ip_address=ip_address,
        )
