import json

import pytest
from django.core.management import CommandError, call_command

from faq.models import Entry, Source

from .conftest import SMALL_CORPUS, corpus_lines


def test_good_file_imports_every_entry_published_and_indexed(corpus_file, capsys):
    call_command("faq_import", str(corpus_file), verbosity=0)

    assert "新增 8 条，更新 0 条" in capsys.readouterr().out
    entry = Entry.objects.get(key="gat-001")
    assert entry.department.name == "省公安厅" and entry.window.name == "交通车管"
    assert entry.is_published and entry.published_at is not None and entry.source == Source.CURATED
    assert entry.terms and entry.question_vector and entry.vector_model
    assert Entry.objects.count() == len(SMALL_CORPUS)


def test_bad_lines_are_reported_with_their_numbers_and_nothing_is_imported(tmp_path, places):
    lines = corpus_lines()
    lines[2] = json.dumps(
        {"key": "x-1", "department": "省外星局", "window": "接待", "question": "问", "answer": "答"}, ensure_ascii=False
    )
    lines[4] = "{not json"
    lines[5] = json.dumps(
        {"key": "x-2", "department": "省公安厅", "window": "交通车管", "question": "", "answer": "答"},
        ensure_ascii=False,
    )
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")

    with pytest.raises(CommandError) as raised:
        call_command("faq_import", str(path), verbosity=0)

    message = str(raised.value)
    assert "没有导入任何条目" in message
    assert "第 3 行：没有名为“省外星局”的部门" in message
    assert "第 5 行：不是有效的 JSON" in message
    assert "第 6 行：缺少或为空的字段：question" in message
    assert Entry.objects.count() == 0


def test_unknown_window_is_reported_unless_create_missing(tmp_path, places, capsys):
    line = json.dumps(
        {
            "key": "k-1",
            "department": "省公安厅",
            "window": "网安",
            "question": "网络诈骗怎么报案？",
            "answer": "请拨打110。",
        },
        ensure_ascii=False,
    )
    path = tmp_path / "one.jsonl"
    path.write_text(line + "\n", encoding="utf-8")

    with pytest.raises(CommandError, match="第 1 行：省公安厅没有名为“网安”的窗口"):
        call_command("faq_import", str(path), verbosity=0)
    assert Entry.objects.count() == 0

    call_command("faq_import", str(path), "--create-missing", verbosity=0)
    assert Entry.objects.get(key="k-1").window.name == "网安"


def test_reimport_updates_the_entry_with_the_same_key(corpus_file, tmp_path):
    call_command("faq_import", str(corpus_file), verbosity=0)
    first = Entry.objects.get(key="gat-001")
    changed = corpus_lines()[:1]
    changed[0] = changed[0].replace("机动车驾驶证是否需要年检？", "驾驶证需要年审吗？")
    path = tmp_path / "changed.jsonl"
    path.write_text(changed[0] + "\n", encoding="utf-8")

    call_command("faq_import", str(path), verbosity=0)

    again = Entry.objects.get(key="gat-001")
    assert again.pk == first.pk and again.question == "驾驶证需要年审吗？"
    assert Entry.objects.count() == len(SMALL_CORPUS)


def test_reimporting_the_same_file_keeps_every_entry_as_it_was(corpus_file, capsys):
    call_command("faq_import", str(corpus_file), verbosity=0)
    before = list(Entry.objects.order_by("pk").values())
    capsys.readouterr()

    call_command("faq_import", str(corpus_file), verbosity=0)

    assert "新增 0 条，更新 0 条，未变 8 条" in capsys.readouterr().out
    assert list(Entry.objects.order_by("pk").values()) == before  # not re-embedded, not even saved


def test_reimport_reindexes_only_what_changed(corpus_file, tmp_path, capsys):
    call_command("faq_import", str(corpus_file), verbosity=0)
    before = {entry.key: entry for entry in Entry.objects.all()}
    lines = corpus_lines()
    lines[1] = lines[1].replace("驾驶证有效期满如何换证？", "驾照到期了怎么换新证？")
    path = tmp_path / "changed.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    capsys.readouterr()

    call_command("faq_import", str(path), "--draft", verbosity=0)

    # Withdrawn as drafts: every entry is saved, but only the changed one gets new vectors.
    assert "新增 0 条，更新 8 条，未变 0 条" in capsys.readouterr().out
    after = {entry.key: entry for entry in Entry.objects.all()}
    assert not any(entry.is_published for entry in after.values())
    assert after["gat-002"].question == "驾照到期了怎么换新证？"
    assert bytes(after["gat-002"].question_vector) != bytes(before["gat-002"].question_vector)
    assert after["gat-002"].terms != before["gat-002"].terms
    for key in set(after) - {"gat-002"}:
        assert bytes(after[key].question_vector) == bytes(before[key].question_vector)


def test_duplicate_key_and_unreadable_file(tmp_path, places):
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join([corpus_lines()[0], corpus_lines()[0]]), encoding="utf-8")
    with pytest.raises(CommandError, match="第 2 行：编号 gat-001 与第 1 行重复"):
        call_command("faq_import", str(path), verbosity=0)
    with pytest.raises(CommandError, match="无法读取文件"):
        call_command("faq_import", str(tmp_path / "missing.jsonl"), verbosity=0)
    assert Entry.objects.count() == 0
