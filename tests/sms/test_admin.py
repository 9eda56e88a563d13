"""短信发送记录 in the admin: the information center reads the outbox; nobody edits it; no full numbers."""

import pytest
from django.urls import reverse

from sms import worker
from sms.actions import queue_sms
from sms.models import Template
from tests import factories

pytestmark = pytest.mark.django_db


def test_supervisor_reads_the_outbox_with_masked_numbers_only(client):
    message = queue_sms(phone="13800138000", template=Template.REGISTER_CODE, params={"code": "424242"})
    worker.drain()
    client.force_login(factories.supervisor())
    listing = client.get(reverse("admin:sms_smsmessage_changelist")).content.decode()
    assert "138****8000" in listing and "13800138000" not in listing and "已发送" in listing
    detail = client.get(reverse("admin:sms_smsmessage_change", args=[message.pk]))
    assert detail.status_code == 200 and "13800138000" not in detail.content.decode()
    assert client.get(reverse("admin:sms_smsmessage_add")).status_code == 403
    assert client.post(reverse("admin:sms_smsmessage_delete", args=[message.pk]), {"post": "yes"}).status_code == 403


def test_citizens_and_officers_cannot_open_it(client):
    client.force_login(factories.citizen())
    assert client.get(reverse("admin:sms_smsmessage_changelist")).status_code == 302
