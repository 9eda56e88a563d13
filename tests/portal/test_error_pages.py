"""Chinese everywhere a citizen or the information center can land: 403/404 pages, the export pages."""

import pytest
from django.urls import reverse

from tests import factories


@pytest.fixture
def production(settings):
    settings.DEBUG = False


def test_404_in_production_is_chinese_and_an_old_consultation_url_explains_retention(client, production, db):
    page = client.get("/windows/999999/")
    assert page.status_code == 404
    assert "没有找到这个页面" in page.content.decode()
    assert "Not Found" not in page.content.decode()

    client.force_login(factories.citizen())
    old = client.get(reverse("chat:conversation", args=[999999]))
    assert old.status_code == 404
    assert "超过保存期限" in old.content.decode() and "返回我的咨询" in old.content.decode()


def test_403_in_production_is_chinese(client, production, db):
    client.force_login(factories.citizen())
    page = client.get(reverse("chat:desk"))
    assert page.status_code == 403
    html = page.content.decode()
    assert "您无权访问这个页面" in html and "Forbidden" not in html


def test_my_consultations_says_how_long_records_are_kept(client, db):
    client.force_login(factories.citizen())
    assert "保存 730 天" in client.get(reverse("portal:my_consultations")).content.decode()


@pytest.mark.parametrize("path", ["/admin/faq/entry/export/", "/admin/departments/window/export/"])
def test_export_pages_label_fields_in_chinese(admin_client, path):
    html = admin_client.get(path).content.decode()
    assert "全选" in html and "Select all" not in html
    assert "编号" in html or "名称" in html or "窗口" in html
    assert "Key (" not in html and "Department (" not in html


def test_admin_index_table_headers_are_chinese(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "数据类别" in html and "Model name" not in html and "Change or view list link" not in html
