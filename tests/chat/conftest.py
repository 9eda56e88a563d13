import pytest
from django.core.cache import cache

from chat import actions
from tests import factories


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache and are keyed by user id, which tests reuse."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def window(db):
    return factories.window(factories.department(name="省公安厅", short_name="公安厅"), name="交通车管")


@pytest.fixture
def citizen(db):
    return factories.citizen()


@pytest.fixture
def officer(window):
    return factories.officer(window)


@pytest.fixture
def on_duty(officer):
    """Put the officer on line with one desk connection."""
    actions.desk_connected(officer=officer, channel_name="desk-test-1")
    return officer
