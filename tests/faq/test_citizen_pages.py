"""What a citizen sees: the search page (no JavaScript needed), entry pages and suggestions."""

import pytest
from django.urls import reverse

from faq import actions, selectors
from faq.models import Entry


@pytest.fixture
def draft(corpus, places):
    return actions.save_entry(
        department=places[("省公安厅", "交通车管")].department,
        window=places[("省公安厅", "交通车管")],
        question="驾驶证年检内部口径（草稿）",
        answer="草稿内容，市民不可见。",
        is_published=False,
    )


def test_search_page_form_and_results(client, corpus):
    page = client.get(reverse("faq:search"))
    assert page.status_code == 200
    assert 'method="get"' in page.content.decode()

    page = client.get(reverse("faq:search"), {"q": "驾照要年审吗"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "机动车驾驶证是否需要年检" in html
    assert reverse("faq:entry", args=[Entry.objects.get(key="gat-001").pk]) in html
    # Below the relevance cut-off nothing is listed as "similar" (see test_search_truth.py).
    assert "结婚登记" not in html
    assert html.index("机动车驾驶证是否需要年检") < html.index("没找到？直接咨询")


def test_search_page_paginates(client, corpus, places, monkeypatch):
    # Twelve near-identical entries cannot all stand out from each other: page through them all.
    monkeypatch.setattr(selectors, "relevance_cut", lambda: float("-inf"))
    window = places[("省公安厅", "交通车管")]
    for n in range(12):
        actions.save_entry(
            department=window.department,
            window=window,
            question=f"驾驶证问题第{n}号？",
            answer=f"驾驶证答复{n}。",
            is_published=True,
        )
    first = client.get(reverse("faq:search"), {"q": "驾驶证"}).content.decode()
    assert "第 1 / 2 页" in first and "下一页" in first
    second = client.get(reverse("faq:search"), {"q": "驾驶证", "page": 2}).content.decode()
    assert "第 2 / 2 页" in second and "上一页" in second


def test_citizen_never_sees_a_draft(client, draft):
    html = client.get(reverse("faq:search"), {"q": "驾驶证年检内部口径"}).content.decode()
    assert "草稿" not in html
    assert client.get(reverse("faq:entry", args=[draft.pk])).status_code == 404
    suggestions = client.get(reverse("faq:suggest"), {"q": "驾驶证年检内部口径"}).json()["results"]
    assert draft.pk not in [item["id"] for item in suggestions]


def test_entry_page_shows_the_answer_escaped(client, corpus, places):
    window = places[("省民政厅", "婚姻登记")]
    entry = actions.save_entry(
        department=window.department,
        window=window,
        question="<script>alert(1)</script>结婚登记要预约吗？",
        answer="需要预约。",
        is_published=True,
    )
    html = client.get(reverse("faq:entry", args=[entry.pk])).content.decode()
    assert "需要预约" in html and "<script>alert(1)</script>" not in html
    assert reverse("portal:window", args=[window.pk]) in html


def test_search_is_rate_limited_with_a_chinese_message(client, corpus, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public_lookup": (2, 60)}
    for _ in range(2):
        assert client.get(reverse("faq:search"), {"q": "护照"}).status_code == 200
    page = client.get(reverse("faq:search"), {"q": "护照"})
    assert page.status_code == 429
    assert "查询过于频繁" in page.content.decode()
    # Opening the empty form is not a lookup.
    assert client.get(reverse("faq:search")).status_code == 200


def test_suggest_returns_close_published_questions_only(client, corpus, places):
    window = places[("省公安厅", "交通车管")]
    reply = client.get(reverse("faq:suggest"), {"q": "驾照要年审吗", "window": window.pk})
    assert reply.status_code == 200
    results = reply.json()["results"]
    assert results[0]["question"] == "机动车驾驶证是否需要年检？"
    assert results[0]["url"] == reverse("faq:entry", args=[Entry.objects.get(key="gat-001").pk])
    assert results[0]["department"] == "省公安厅" and results[0]["window"] == "交通车管"
    assert client.get(reverse("faq:suggest"), {"q": "你好"}).json()["results"] == []
    assert client.get(reverse("faq:suggest"), {"q": "驾", "window": "abc"}).json()["results"] == []


def test_suggest_is_rate_limited_on_its_own_budget(client, corpus, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public_lookup": (1, 60), "faq_suggest": (2, 60)}
    assert client.get(reverse("faq:search"), {"q": "护照"}).status_code == 200
    # The search page used up the lookup budget; suggestions, typed letter by letter, have their own.
    assert client.get(reverse("faq:suggest"), {"q": "护照怎"}).status_code == 200
    assert client.get(reverse("faq:suggest"), {"q": "护照怎么办"}).status_code == 200
    reply = client.get(reverse("faq:suggest"), {"q": "护照怎么办理"})
    assert reply.status_code == 429 and "查询过于频繁" in reply.json()["error"]
