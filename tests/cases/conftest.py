import pytest
from django.core.cache import cache

from chat import actions as chat_actions
from tests import factories


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache and are keyed by user id, which tests reuse."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def police(db):
    return factories.department(
        name="省公安厅",
        short_name="公安厅",
        contact_phone="0571-87280000",
        address="杭州市西湖区华浙广场 19 号",
        website="https://gat.zj.gov.cn",
    )


@pytest.fixture
def labour(db):
    return factories.department(name="省劳动和社会保障厅", short_name="劳动保障厅", contact_phone="0571-85101110")


@pytest.fixture
def window(police):
    return factories.window(police, name="治安户籍")


@pytest.fixture
def labour_window(labour):
    return factories.window(labour, name="养老保险")


@pytest.fixture
def citizen(db):
    return factories.citizen("13912345678")


@pytest.fixture
def officer(window):
    return factories.officer(window)


@pytest.fixture
def labour_officer(labour_window):
    return factories.officer(labour_window)


@pytest.fixture
def supervisor(db):
    return factories.supervisor()


@pytest.fixture
def conversation(window, citizen, officer):
    """A consultation the officer has answered once, with the citizen's question in it."""
    conversation = chat_actions.open_conversation(citizen=citizen, window=window)
    chat_actions.send_message(
        conversation=conversation, sender=citizen, body="毕业三年户籍还在学校，怎么迁回老家？", client_id="q1"
    )
    chat_actions.send_message(conversation=conversation, sender=officer, body="请稍等，我帮您查一下。", client_id="a1")
    conversation.refresh_from_db()
    return conversation
