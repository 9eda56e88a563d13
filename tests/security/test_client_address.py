"""Control: one client address for the audit log and the rate limits; behind the proxy it is the hop the
proxy appended, never one the client chose."""

import pytest
from django.test import Client, RequestFactory

from infra import ratelimit
from infra.client import client_address
from oversight.models import AuditLog
from tests import factories

SPOOFED = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7"}


def test_behind_the_proxy_the_appended_hop_counts(settings):
    settings.TRUST_X_FORWARDED_FOR = True
    request = RequestFactory().get("/", **SPOOFED)
    assert client_address(request) == "203.0.113.7" == ratelimit.client_ip(request)


def test_header_ignored_unless_trusted_and_from_a_listed_proxy(settings):
    settings.TRUST_X_FORWARDED_FOR = False
    assert client_address(RequestFactory().get("/", **SPOOFED)) == "127.0.0.1"
    settings.TRUST_X_FORWARDED_FOR = True
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    assert client_address(RequestFactory().get("/", **SPOOFED)) == "127.0.0.1"
    assert (
        client_address(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1"))
        == "198.51.100.1"
    )
    # Garbage in the header never becomes an address.
    assert (
        client_address(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="<script>")) == "10.0.0.2"
    )


@pytest.mark.django_db
def test_audit_log_records_the_real_address(settings):
    settings.TRUST_X_FORWARDED_FOR = True
    window = factories.window(factories.department(name="省公安厅"), name="交通车管")
    from chat import actions

    citizen = factories.citizen()
    conversation = actions.open_conversation(citizen=citizen, window=window)
    client = Client(**SPOOFED)
    client.force_login(factories.supervisor())
    assert client.get(f"/admin/oversight/transcript/{conversation.pk}/change/").status_code == 200
    assert AuditLog.objects.get(action="view_transcript").ip_address == "203.0.113.7"
