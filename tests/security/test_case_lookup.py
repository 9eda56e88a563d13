"""Control: a case's query code cannot be guessed from many addresses: failures count per tracking number."""

import pytest
from django.test import Client

from cases import actions
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def case_and_code():
    police = factories.department(name="省公安厅")
    window = factories.window(police, name="交通车管")
    officer = factories.officer(window)
    citizen = factories.citizen()
    from chat import actions as chat_actions

    conversation = chat_actions.open_conversation(citizen=citizen, window=window)
    chat_actions.acknowledge_statement(conversation=conversation, citizen=citizen)
    chat_actions.send_message(conversation=conversation, sender=citizen, body="户口迁移要什么材料？", client_id="c1")
    chat_actions.take_conversation(officer=officer, conversation=conversation)
    escalation = actions.escalate_conversation(
        conversation=conversation,
        officer=officer,
        target_kind="department",
        department=police,
        question="户口迁移要什么材料？",
        note="",
    )
    return escalation.case.tracking_number, escalation.query_code


def test_guessing_one_numbers_code_from_many_addresses_is_stopped(case_and_code):
    number, code = case_and_code
    for n in range(10):
        response = Client(REMOTE_ADDR=f"203.0.113.{n + 1}").post(
            "/cases/lookup/", {"number": number, "code": f"WRONG{n}"}
        )
        assert response.status_code == 400
    # The 11th guess, from yet another address, is refused even with the right code...
    response = Client(REMOTE_ADDR="198.51.100.77").post("/cases/lookup/", {"number": number, "code": code})
    assert response.status_code == 429 and "失败次数过多" in response.content.decode()
    # ...and an unknown number is treated the same way, so the lock tells nothing about existence.
    for n in range(11):
        response = Client(REMOTE_ADDR=f"192.0.2.{n + 1}").post(
            "/cases/lookup/", {"number": "ZW20260000000", "code": "X"}
        )
    assert response.status_code == 429
    # Other numbers are not affected.
    assert (
        Client(REMOTE_ADDR="198.51.100.78").post("/cases/lookup/", {"number": "ZW20269999999", "code": "X"}).status_code
        == 400
    )
