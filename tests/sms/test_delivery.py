"""The outbox: queued after commit, sent off the request, retried with back-off, failures visible; each
provider backend against a local server that plays its API."""

import datetime
import json
import logging
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from sms import worker
from sms.actions import BACKOFF_SECONDS, MAX_ATTEMPTS, deliver_due, queue_sms
from sms.models import SmsMessage, SmsStatus, Template

from .conftest import tencent_error, tencent_ok

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


def queue_code(code="246810"):
    return queue_sms(phone=PHONE, template=Template.REGISTER_CODE, params={"code": code})


def make_due(message):
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def test_outbox_backend_logs_the_text_and_keeps_it_in_the_record(caplog, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        message = queue_code()
    assert [callback.__qualname__ for callback in callbacks] == ["wake"]  # the sender is told only after commit
    assert SmsMessage.objects.get().status == SmsStatus.QUEUED
    with caplog.at_level(logging.INFO, logger="sms"):
        assert worker.drain() == 1
    assert "SMS to 13800138000: 【政务通】您正在注册政务通，验证码为246810" in caplog.text
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 1 and message.backend == "outbox"
    assert message.phone == "" and message.masked_phone == "138****8000"  # the full number leaves the record
    assert "246810" in message.text  # the outbox is where a developer reads the code
    assert worker.drain() == 0


def test_nothing_is_queued_when_the_transaction_rolls_back():
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_code()
        raise RuntimeError
    assert not SmsMessage.objects.exists()


def test_aliyun_sends_template_and_params(aliyun):
    message = queue_code()
    deliver_due()
    request = aliyun.requests[-1]
    query = {key: values[0] for key, values in parse_qs(urlparse(request["path"]).query).items()}
    assert query["PhoneNumbers"] == PHONE and query["SignName"] == "政务通" and query["TemplateCode"] == "SMS_100001"
    assert json.loads(query["TemplateParam"]) == {"code": "246810"}
    headers = {key.lower(): value for key, value in request["headers"].items()}
    assert headers["x-acs-action"] == "SendSms" and headers["x-acs-version"] == "2017-05-25"
    assert headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=test-key,")
    message.refresh_from_db()
    assert (
        message.status == SmsStatus.SENT and message.provider_id == "900001^0" and message.provider_answer == "OK: OK"
    )
    assert "246810" not in message.text and "******" in message.text  # a delivered code leaves the record
    assert message.params == {"code": "******"} and message.phone == ""


def test_aliyun_business_refusal_fails_at_once(aliyun):
    aliyun.answers = [(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "R-2"})]
    message = queue_code()
    deliver_due()
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and message.attempts == 1
    assert message.provider_answer == "isv.MOBILE_NUMBER_ILLEGAL: 非法手机号"


def test_provider_down_is_retried_with_back_off_then_failed(aliyun):
    aliyun.answers = [(503, {"Code": "ServiceUnavailable", "Message": "服务暂不可用", "RequestId": "R-3"})]
    message = queue_sms(
        phone=PHONE, template=Template.NOTICE_CASE, params={"number": "ZWT1", "state": "已受理", "link": "x"}
    )
    for attempt in range(1, MAX_ATTEMPTS):
        before = timezone.now()
        assert deliver_due() == 1
        message.refresh_from_db()
        assert message.status == SmsStatus.QUEUED and message.attempts == attempt
        assert "ServiceUnavailable" in message.provider_answer
        wait = (message.next_attempt_at - before).total_seconds()
        assert BACKOFF_SECONDS[attempt - 1] - 2 <= wait <= BACKOFF_SECONDS[attempt - 1] + 2
        assert deliver_due() == 0  # not due yet
        make_due(message)
    deliver_due()
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and message.attempts == MAX_ATTEMPTS and message.phone == ""
    assert len(aliyun.requests) == MAX_ATTEMPTS


def test_provider_recovers_on_a_retry(aliyun):
    aliyun.answers = [
        (500, {"Code": "InternalError", "Message": "x", "RequestId": "R-4"}),
        (200, {"Code": "OK", "Message": "OK", "BizId": "B-2", "RequestId": "R-5"}),
    ]
    message = queue_code()
    deliver_due()
    make_due(message)
    deliver_due()
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 2 and message.provider_id == "B-2"


def test_unreachable_provider_is_retried(aliyun, monkeypatch):
    aliyun.close()  # nothing listens on the port any more
    message = queue_code()
    deliver_due()
    message.refresh_from_db()
    assert message.status == SmsStatus.QUEUED and message.attempts == 1 and message.provider_answer


def test_code_not_sent_after_it_expired(aliyun):
    message = queue_code()
    SmsMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=6))
    deliver_due()
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and "过期" in message.provider_answer and not aliyun.requests


def test_missing_template_id_is_a_visible_failure(aliyun, monkeypatch):
    monkeypatch.delenv("SMS_TEMPLATE_REGISTER_CODE")
    message = queue_code()
    deliver_due()
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and "SMS_TEMPLATE_REGISTER_CODE" in message.provider_answer


def test_tencent_sends_template_and_numbered_params(tencent):
    message = queue_sms(
        phone=PHONE,
        template=Template.NOTICE_CASE,
        params={"number": "ZWT20261129001", "state": "已受理", "link": "https://z/l"},
    )
    deliver_due()
    request = tencent.requests[-1]
    assert request["headers"]["X-TC-Action"] == "SendSms" and request["headers"]["X-TC-Version"] == "2021-01-11"
    assert request["headers"]["Authorization"].startswith("TC3-HMAC-SHA256 Credential=test-id/")
    body = json.loads(request["body"])
    assert body["PhoneNumberSet"] == ["+8613800138000"] and body["SmsSdkAppId"] == "1400000001"
    assert body["TemplateId"] == "2000007" and body["SignName"] == "政务通"
    assert body["TemplateParamSet"] == ["ZWT20261129001", "已受理", "https://z/l"]
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.provider_id == "2028:1"


def test_tencent_refusals(tencent):
    tencent.answers = [(200, tencent_ok("LimitExceeded.PhoneNumberDailyLimit", "日发送上限"))]
    limited = queue_code()
    deliver_due()
    limited.refresh_from_db()
    assert limited.status == SmsStatus.QUEUED and "PhoneNumberDailyLimit" in limited.provider_answer

    tencent.answers = [(200, tencent_error("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审核"))]
    refused = queue_sms(phone="13900139000", template=Template.REGISTER_CODE, params={"code": "135790"})
    deliver_due()
    refused.refresh_from_db()
    assert refused.status == SmsStatus.FAILED and "TemplateIncorrectOrUnapproved" in refused.provider_answer


def test_sms_worker_command_sends_what_is_due(capsys):
    queue_code()
    call_command("sms_worker", "--once")
    assert "已处理 1 条短信" in capsys.readouterr().out
    assert SmsMessage.objects.get().status == SmsStatus.SENT


def test_check_deploy_warns_about_the_outbox_backend(settings):
    from sms.checks import check_sms_backend

    assert [warning.id for warning in check_sms_backend(None)] == ["sms.W001"]
    settings.SMS_BACKEND = "sms.backends.aliyun.AliyunBackend"
    assert check_sms_backend(None) == []
