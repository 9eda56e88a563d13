"""The search tells the truth (issue 14): a cut-off for "similar", synonyms, entries without vectors."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from faq import actions, search, selectors
from faq.models import Entry, Synonym


def keys(results):
    return [r.entry.key for r in results]


def test_an_unrelated_question_is_told_nothing_similar_and_offered_a_direct_consultation(client, corpus):
    page = client.get(reverse("faq:search"), {"q": "今天天气怎么样，适合出去玩吗"}).content.decode()
    assert "没有找到相似的问题" in page
    assert "直接咨询" in page
    assert "相似的问题 " not in page  # no "与…相似的问题 N 条" headline


def test_every_results_page_ends_with_a_way_to_ask_directly(client, corpus):
    page = client.get(reverse("faq:search"), {"q": "驾驶证遗失怎么补领"}).content.decode()
    assert "驾驶证遗失后怎样补领" in page
    assert page.index("没找到？直接咨询") > page.index("驾驶证遗失后怎样补领")


def test_the_desk_uses_the_same_cut_off(corpus, traffic_officer, traffic_window):
    assert selectors.search_for_officer(traffic_officer, "今天天气怎么样，适合出去玩吗", window=traffic_window) == []
    assert (
        keys(selectors.search_for_officer(traffic_officer, "驾驶证丢了怎么补", window=traffic_window))[0] == "gat-003"
    )


def test_a_synonym_the_information_center_adds_feeds_the_lexical_search(corpus, monkeypatch):
    monkeypatch.setenv("FAQ_DISABLE_EMBEDDINGS", "1")
    assert "mzt-010" not in keys(selectors.search_public("吃补助需要什么条件"))[:1]

    actions.save_synonym(synonym=Synonym(), words="吃补助、最低生活保障")

    assert keys(selectors.search_public("吃补助需要什么条件"))[0] == "mzt-010"


def test_a_synonym_group_needs_two_words(db):
    with pytest.raises(actions.FaqError, match="至少要有两个不同的词"):
        actions.save_synonym(synonym=Synonym(), words="驾照 驾照")


def test_entries_without_vectors_do_not_drag_the_others_down(corpus, monkeypatch):
    before = keys(selectors.search_public("驾照要年审吗"))
    # Two entries saved while the model was off have no vectors.
    Entry.objects.filter(key__in=["mzt-001", "ldt-001"]).update(
        question_vector=None, passage_vector=None, vector_model=""
    )
    actions._touch_index()
    after = keys(selectors.search_public("驾照要年审吗"))
    assert after[0] == before[0] == "gat-001"
    # They are still found by their words.
    assert keys(selectors.search_public("结婚登记带什么材料"))[0] == "mzt-001"
    assert not search.get_index().has_vector[
        list(search.get_index().entry_ids).index(Entry.objects.get(key="mzt-001").id)
    ]


def test_faq_import_embeds_what_lacks_vectors_once_the_model_is_back(corpus, corpus_file, monkeypatch, capsys):
    monkeypatch.setenv("FAQ_DISABLE_EMBEDDINGS", "1")
    entry = actions.save_entry(
        department=Entry.objects.get(key="mzt-001").department,
        window=None,
        question="离婚登记需要预约吗？",
        answer="离婚登记实行冷静期制度，请提前预约。",
        is_published=True,
    )
    assert entry.question_vector is None
    monkeypatch.delenv("FAQ_DISABLE_EMBEDDINGS")

    call_command("faq_import", str(corpus_file))

    assert "补算向量" in capsys.readouterr().out
    entry.refresh_from_db()
    assert entry.question_vector is not None
