"""Search on the database the suite runs on (SQLite, and PostgreSQL in the second pass)."""

import logging

import pytest
from django.core.management import call_command

from faq import actions, search, selectors
from faq.engine import embedder
from faq.models import Entry, IndexState
from tests import factories


def questions(results):
    return [r.entry.question for r in results]


def test_colloquial_question_finds_the_formal_entry_first(corpus):
    results = selectors.search_public("驾照要年审吗")
    assert results[0].entry.key == "gat-001"
    assert selectors.search_public("社保断了怎么办")[0].entry.key == "ldt-001"
    assert selectors.search_public("想迁户口到杭州")[0].entry.key == "gat-020"


def test_saved_entry_is_found_at_once_and_a_change_elsewhere_is_noticed(corpus, places):
    assert search.get_index().size == 8
    before = IndexState.objects.get().token
    entry = actions.save_entry(
        department=places[("省公安厅", "出境入境")].department,
        window=places[("省公安厅", "出境入境")],
        question="港澳通行证签注怎么续签？",
        answer="可在自助签注机或交管APP办理港澳通行证再次签注。",
        is_published=True,
    )
    assert IndexState.objects.get().token != before
    assert selectors.search_public("港澳证续签")[0].entry == entry

    # Another process changes an entry and renews the token: this process rebuilds before searching.
    Entry.objects.filter(pk=entry.pk).update(is_published=False)
    IndexState.objects.update(token=IndexState.new_token())
    assert entry not in [r.entry for r in selectors.search_public("港澳证续签")]


def test_citizens_never_see_drafts_or_archived_answers_but_the_department_does(corpus, places, traffic_officer):
    draft = actions.save_entry(
        department=places[("省公安厅", "交通车管")].department,
        window=places[("省公安厅", "交通车管")],
        question="电动自行车上牌需要什么材料？",
        answer="内部口径草稿：携带购车发票和合格证到登记点。",
        is_published=False,
    )
    assert draft not in [r.entry for r in selectors.search_public("电动车上牌", limit=50)]
    assert draft not in [r.entry for r in selectors.suggestions("电动自行车上牌需要什么材料")]
    assert selectors.search_for_officer(traffic_officer, "电动车上牌")[0].entry == draft

    stranger = factories.officer(places[("省民政厅", "婚姻登记")])
    assert draft not in [r.entry for r in selectors.search_for_officer(stranger, "电动车上牌", limit=20)]


def test_deleted_entries_disappear(corpus):
    entry = Entry.objects.get(key="gat-001")
    actions.delete_entries(entries=[entry])
    assert all(r.entry.key != "gat-001" for r in selectors.search_public("驾驶证年检"))


def test_without_the_model_search_ranks_lexically_and_says_so(corpus, monkeypatch, caplog):
    monkeypatch.setenv("FAQ_DISABLE_EMBEDDINGS", "1")
    caplog.set_level(logging.WARNING, logger="faq.engine.embedder")
    embedder._warned.clear()

    results = selectors.search_public("驾驶证年检")
    assert results[0].entry.key == "gat-001"
    assert results[0].similarity == 0
    assert "falling back to lexical ranking" in caplog.text

    # Entries saved while the model is away are indexed lexically and found.
    entry = actions.save_entry(
        department=Entry.objects.get(key="mzt-001").department,
        window=None,
        question="离婚登记需要预约吗？",
        answer="离婚登记实行冷静期制度，请提前预约。",
        is_published=True,
    )
    assert entry.question_vector is None and entry.terms
    assert selectors.search_public("离婚预约")[0].entry == entry
    # Suggestions fall back to a lexical threshold: a matching question still shows, noise does not.
    assert selectors.suggestions("离婚登记预约")[0].entry == entry
    assert selectors.suggestions("你好") == []


def test_reindex_command_fills_missing_vectors(corpus, monkeypatch, capsys):
    monkeypatch.setenv("FAQ_DISABLE_EMBEDDINGS", "1")
    actions.reindex_entries()
    assert not Entry.objects.exclude(question_vector=None).exists()
    monkeypatch.delenv("FAQ_DISABLE_EMBEDDINGS")

    call_command("faq_reindex", verbosity=0)

    assert "已重建 8 条" in capsys.readouterr().out
    assert not Entry.objects.filter(question_vector=None).exists()
    assert selectors.search_public("驾照要年审吗")[0].entry.key == "gat-001"


@pytest.mark.parametrize("query", ["", "   ", "！！！"])
def test_empty_or_punctuation_only_queries_find_nothing(corpus, query):
    assert selectors.search_public(query) == []


def test_the_window_asked_at_decides_between_two_equally_good_answers(corpus, places):
    """The same question kept by two windows: the one the citizen writes to (or the desk serves) wins."""
    for name in ("交通车管", "出境入境"):
        window = places[("省公安厅", name)]
        actions.save_entry(
            department=window.department,
            window=window,
            question="证件遗失后如何补办？",
            answer=f"您好！请到{name}窗口申请补办。",
            is_published=True,
        )
    for name in ("交通车管", "出境入境"):
        window = places[("省公安厅", name)]
        results = selectors.search_public("证件丢了怎么补", department_id=window.department_id, window_id=window.id)
        assert results[0].entry.window == window
