"""The information center curates the knowledge base in the admin; every save indexes the entry."""

import tablib
from django.urls import reverse

from faq import selectors
from faq.models import Entry
from faq.resources import EntryResource
from tests import factories


def test_supervisor_adds_an_entry_and_citizens_find_it(client, places):
    window = places[("省民政厅", "婚姻登记")]
    client.force_login(factories.supervisor())
    reply = client.post(
        reverse("admin:faq_entry_add"),
        {
            "key": "mzt-100",
            "department": window.department.pk,
            "window": window.pk,
            "question": "补领结婚证需要什么材料？",
            "answer": "携带身份证和户口簿到原登记机关补领。",
            "is_published": "on",
        },
    )
    assert reply.status_code == 302
    entry = Entry.objects.get(key="mzt-100")
    assert entry.question_vector and entry.published_at
    assert selectors.search_public("结婚证丢了补办")[0].entry == entry


def test_admin_refuses_a_window_of_another_department(client, places):
    client.force_login(factories.supervisor())
    reply = client.post(
        reverse("admin:faq_entry_add"),
        {
            "key": "x-1",
            "department": places[("省民政厅", "婚姻登记")].department.pk,
            "window": places[("省公安厅", "交通车管")].pk,
            "question": "问",
            "answer": "答",
        },
    )
    assert reply.status_code == 200 and "不属于省民政厅" in reply.content.decode()
    assert not Entry.objects.exists()


def test_withdraw_action_hides_entries_from_citizens(client, corpus):
    client.force_login(factories.supervisor())
    entry = Entry.objects.get(key="gat-001")
    reply = client.post(reverse("admin:faq_entry_changelist"), {"action": "withdraw", "_selected_action": [entry.pk]})
    assert reply.status_code == 302
    entry.refresh_from_db()
    assert not entry.is_published
    assert entry not in [r.entry for r in selectors.search_public("驾驶证年检", limit=50)]


def test_spreadsheet_import_creates_updates_and_refuses_bad_rows(corpus):
    headers = ("编号", "部门", "窗口", "问题", "答复", "已发布")
    good = tablib.Dataset(
        ("gat-001", "省公安厅", "交通车管", "驾驶证需要年审吗？", "无需年检。", "是"),
        ("gat-900", "省公安厅", "出境入境", "护照过期了怎么换发？", "到出入境大厅换发。", "否"),
        headers=headers,
    )
    result = EntryResource().import_data(good, dry_run=False, raise_errors=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert Entry.objects.get(key="gat-001").question == "驾驶证需要年审吗？"
    assert not Entry.objects.get(key="gat-900").is_published

    bad = tablib.Dataset(
        ("gat-901", "省公安厅", "出境入境", "新问题？", "新答复。", "是"),
        ("gat-902", "省公安厅", "没有的窗口", "问题？", "答复。", "是"),
        headers=headers,
    )
    result = EntryResource().import_data(bad, dry_run=False, raise_errors=False, use_transactions=True)
    assert result.has_errors() or result.has_validation_errors()
    assert not Entry.objects.filter(key__in=["gat-901", "gat-902"]).exists()

    exported = EntryResource().export()
    assert exported.headers == list(headers) and len(exported) == 9
