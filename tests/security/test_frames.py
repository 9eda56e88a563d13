"""Control: every malformed frame or JSON body is answered with a Chinese error, never a crash or a 500."""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from chat import actions
from chat.models import Message
from tests import factories
from tests.sockets import connect, receive_until

pytestmark = [pytest.mark.django_db(transaction=True)]

NESTED = "[" * 100_000 + "]" * 100_000

HOSTILE_CHAT_FRAMES = [
    '{"type":"read","seq":' + str(10**30) + "}",
    '{"type":"resume","after":' + str(10**30) + "}",
    '{"type":"read","seq":1e999}',
    NESTED,
    '{"type":"message","client_id":"x","body":' + NESTED[:20_000] + "}",
    '{"type":"message","client_id":"s-1","body":"\\ud800 你好"}',
    '{"type":"message","client_id":"\\udfff","body":"你好"}',
    '{"type":"message","client_id":"n-1","body":"你好\\u0000"}',
    '{"type":"rate","rating":5,"comment":"\\u0000"}',
    '{"\\ud800":1,"type":"ping"}',
    '{"type":"read","seq":"1"}',
    '{"type":"rate","rating":1e308}',
    "not json",
    "[]",
]


@sync_to_async
def chat_setup():
    window = factories.window(factories.department(name="省公安厅"), name="交通车管")
    citizen = factories.citizen()
    officer = factories.officer(window)
    conversation = actions.open_conversation(citizen=citizen, window=window)
    return window, citizen, officer, conversation


@pytest.mark.asyncio
async def test_every_hostile_chat_frame_gets_an_error_and_the_socket_stays_open(close_consumer_connections):
    _, citizen, officer, conversation = await chat_setup()
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    desk, desk_ok, _ = await connect("/ws/desk/", officer)
    assert ok and desk_ok
    try:
        for text in HOSTILE_CHAT_FRAMES:
            await chat.send_to(text_data=text)
            error = await receive_until(chat, "error")
            assert error["code"] in {"bad_frame", "invalid"}, text[:60]
            assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error
        for text in [
            '{"type":"read","conversation":1,"seq":' + str(10**30) + "}",
            '{"type":"take","conversation":' + str(10**30) + "}",
            '{"type":"message","conversation":' + str(conversation.id) + ',"client_id":"d","body":"\\ud800"}',
        ]:
            await desk.send_to(text_data=text)
            error = await receive_until(desk, "error")
            assert error["code"] in {"bad_frame", "invalid"}, text[:60]
        # Still open and working: a real message is stored and acknowledged.
        await chat.send_json_to({"type": "message", "client_id": "ok-1", "body": "驾驶证要不要年检？"})
        ack = await receive_until(chat, "ack")
        assert ack["client_id"] == "ok-1"
        bodies = await sync_to_async(
            lambda: list(Message.objects.filter(conversation=conversation).values_list("body", flat=True))
        )()
        assert not any("\x00" in body or "\ud800" in body for body in bodies)
    finally:
        await chat.disconnect()
        await desk.disconnect()


def test_json_endpoints_answer_400_in_chinese(client: Client):
    window = factories.window(factories.department(name="省公安厅"), name="交通车管")
    officer = factories.officer(window)
    client.force_login(officer)
    for body in [
        '{"conversation":"\\ud800"}',
        '{"conversation":1,"note":"\\u0000"}',
        NESTED,
        '{"conversation":' + str(10**30) + "}",
    ]:
        response = client.post("/desk/cases/api/escalate/", data=body, content_type="application/json")
        assert response.status_code == 400, body[:40]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["error"])


def test_query_strings_and_forms_with_nul_answer_400_in_chinese(client: Client):
    response = client.get("/faq/suggest/", {"q": "驾驶证\x00年检"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "字符" in response.json()["error"]
    response = client.get("/faq/", {"q": "驾驶证\x00"})
    assert response.status_code == 400 and "字符" in response.content.decode()
    response = client.post("/accounts/login/", {"username": "a\x00", "password": "x"})
    assert response.status_code == 400
