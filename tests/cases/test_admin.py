"""The information center's console for cases: filters, the coordination list and the workflow steps."""

import datetime

import pytest
from django.utils import timezone

from cases import actions
from cases.models import Case, CaseStatus, TargetKind
from chat.models import Message
from portal.actions import create_staff_user
from portal.models import Role
from tests import factories

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/cases/case/"


@pytest.fixture
def root(db):
    return create_staff_user(username="root", password=factories.PASSWORD, role=Role.ADMIN)


@pytest.fixture
def admin_client(client, root):
    client.force_login(root)
    return client


def test_governor_mailbox_case_is_answered_in_the_admin(admin_client, conversation, officer, police):
    case = actions.escalate_conversation(
        conversation=conversation, officer=officer, target_kind=TargetKind.GOVERNOR_MAILBOX
    ).case
    page = admin_client.get(CHANGELIST).content.decode()
    assert case.tracking_number in page and "待指定承办单位：1 件" in page
    change = admin_client.get(f"{CHANGELIST}{case.id}/change/").content.decode()
    assert "受理" in change and 'name="_save"' not in change
    workflow = f"{CHANGELIST}{case.id}/workflow/"
    response = admin_client.post(workflow, {"step": "close"}, follow=True)
    assert "尚未答复的转办件不能办结，请先答复。" in response.content.decode()
    admin_client.post(workflow, {"step": "accept"})
    admin_client.post(workflow, {"step": "reply", "reply": "已请省公安厅核实办理。"})
    admin_client.post(workflow, {"step": "close"})
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.reply == "已请省公安厅核实办理。"
    assert Message.objects.filter(conversation=conversation, body__contains="已请省公安厅核实办理。").exists()
    change = admin_client.get(f"{CHANGELIST}{case.id}/change/").content.decode()
    assert change.count("办结") >= 1 and "已请省公安厅核实办理。" in change


def test_admin_assigns_lead_unit_and_lists_coordination_and_overdue(
    admin_client, root, conversation, officer, police, labour
):
    case = actions.escalate_conversation(
        conversation=conversation, officer=officer, target_kind=TargetKind.GOVERNOR_MAILBOX
    ).case
    response = admin_client.post(
        f"{CHANGELIST}{case.id}/workflow/", {"step": "assign", "department": "abc"}, follow=True
    )
    assert "请选择一个有效的部门。" in response.content.decode()
    response = admin_client.post(
        f"{CHANGELIST}{case.id}/workflow/", {"step": "assign", "department": police.id}, follow=True
    )
    assert "已指定承办单位。" in response.content.decode()
    case.refresh_from_db()
    assert case.lead_unit == police
    others = [labour, factories.department(name="省人事厅"), police]
    for unit in others:
        actions.pass_on_case(case=case, by=root, to_department=unit)
    assert admin_client.get(f"{CHANGELIST}?attention=coordination").content.decode().count(case.tracking_number) >= 1
    assert "需信息中心协调：1 件" in admin_client.get(CHANGELIST).content.decode()
    assert case.tracking_number not in admin_client.get(f"{CHANGELIST}?attention=overdue").content.decode()
    Case.objects.filter(pk=case.pk).update(due_at=timezone.now() - datetime.timedelta(days=1))
    assert case.tracking_number in admin_client.get(f"{CHANGELIST}?attention=overdue").content.decode()
    for query in (
        "status=pending",
        "target_kind=governor_mailbox",
        f"lead_unit__id__exact={police.id}",
        f"q={case.tracking_number}",
    ):
        assert case.tracking_number in admin_client.get(f"{CHANGELIST}?{query}").content.decode(), query


def test_bulk_actions_call_the_workflow(admin_client, conversation, officer, police):
    case = actions.escalate_conversation(
        conversation=conversation, officer=officer, target_kind=TargetKind.DEPARTMENT, department=police
    ).case
    response = admin_client.post(CHANGELIST, {"action": "close_selected", "_selected_action": [case.id]}, follow=True)
    assert "尚未答复的转办件不能办结" in response.content.decode()
    admin_client.post(CHANGELIST, {"action": "accept_selected", "_selected_action": [case.id]})
    case.refresh_from_db()
    assert case.status == CaseStatus.PROCESSING
    assert [e.kind for e in case.events.all()] == ["escalated", "accepted"]
    events = admin_client.get("/admin/cases/caseevent/").content.decode()
    assert case.tracking_number in events


def test_supervisor_group_without_change_permission_cannot_run_steps(client, conversation, officer, police):
    viewer = create_staff_user(username="viewer", password=factories.PASSWORD, role=Role.SUPERVISOR)
    viewer.groups.clear()  # staff, but without the information center's permissions
    client.force_login(viewer)
    case = actions.escalate_conversation(
        conversation=conversation, officer=officer, target_kind=TargetKind.GOVERNOR_MAILBOX
    ).case
    assert client.post(f"{CHANGELIST}{case.id}/workflow/", {"step": "accept"}).status_code == 403
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING
