import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from chat import actions as chat_actions
from tests import factories


@pytest.fixture(autouse=True)
def fresh_limits(settings):
    """Rate-limit counters live in the process-local cache: start each test with none."""
    settings.SMS_BACKEND = "sms.backends.outbox.OutboxBackend"
    cache.clear()
    yield
    cache.clear()


class ProviderStub:
    """A local HTTP server that plays 阿里云 Dysmsapi and 腾讯云 SMS: records each request, answers as told."""

    def __init__(self):
        self.requests = []
        self.answers = []  # (http status, json body) per request, in order; the last one repeats
        self.content_type = "application/json;charset=utf-8"
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                stub.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                status, body = stub.answers.pop(0) if len(stub.answers) > 1 else stub.answers[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", stub.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    stub = ProviderStub()
    yield stub
    stub.close()


@pytest.fixture
def aliyun(provider, monkeypatch, settings):
    settings.SMS_BACKEND = "sms.backends.aliyun.AliyunBackend"
    for name, value in {
        "ALIYUN_SMS_ACCESS_KEY_ID": "test-key",
        "ALIYUN_SMS_ACCESS_KEY_SECRET": "test-secret",
        "ALIYUN_SMS_ENDPOINT": provider.endpoint,
        "ALIYUN_SMS_PROTOCOL": "http",
        "SMS_SIGN_NAME": "政务通",
        "SMS_TEMPLATE_REGISTER_CODE": "SMS_100001",
        "SMS_TEMPLATE_NOTICE_CASE": "SMS_100007",
    }.items():
        monkeypatch.setenv(name, value)
    provider.answers = [(200, {"Code": "OK", "Message": "OK", "BizId": "900001^0", "RequestId": "R-1"})]
    return provider


@pytest.fixture
def tencent(provider, monkeypatch, settings):
    settings.SMS_BACKEND = "sms.backends.tencent.TencentBackend"
    for name, value in {
        "TENCENT_SMS_SECRET_ID": "test-id",
        "TENCENT_SMS_SECRET_KEY": "test-key",
        "TENCENT_SMS_APP_ID": "1400000001",
        "TENCENT_SMS_ENDPOINT": provider.endpoint,
        "TENCENT_SMS_SCHEME": "http",
        "SMS_SIGN_NAME": "政务通",
        "SMS_TEMPLATE_REGISTER_CODE": "2000001",
        "SMS_TEMPLATE_NOTICE_CASE": "2000007",
    }.items():
        monkeypatch.setenv(name, value)
    provider.content_type = "application/json"  # as the real API answers; the SDK looks for errors only then
    provider.answers = [(200, tencent_ok())]
    return provider


def tencent_ok(code="Ok", message="send success"):
    return {
        "Response": {
            "SendStatusSet": [
                {
                    "SerialNo": "2028:1",
                    "PhoneNumber": "+8613800138000",
                    "Fee": 1,
                    "SessionContext": "",
                    "Code": code,
                    "Message": message,
                    "IsoCode": "CN",
                }
            ],
            "RequestId": "T-1",
        }
    }


def tencent_error(code, message):
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "T-2"}}


@pytest.fixture
def police(db):
    return factories.department(name="省公安厅", short_name="公安厅")


@pytest.fixture
def window(police):
    return factories.window(police, name="治安户籍")


@pytest.fixture
def citizen(db):
    return factories.citizen("13912345678")


@pytest.fixture
def officer(window):
    return factories.officer(window)


@pytest.fixture
def conversation(window, citizen, officer):
    conversation = chat_actions.open_conversation(citizen=citizen, window=window)
    chat_actions.send_message(conversation=conversation, sender=citizen, body="户口迁移要带什么材料？", client_id="q1")
    chat_actions.send_message(conversation=conversation, sender=officer, body="请稍等。", client_id="a1")
    conversation.refresh_from_db()
    return conversation
