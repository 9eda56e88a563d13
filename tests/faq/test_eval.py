import json

import pytest
from django.core.management import CommandError, call_command


def test_eval_prints_one_json_line_with_the_figures(corpus, tmp_path, capsys):
    queries = [
        {"query": "驾照要年审吗", "gold": ["gat-001"]},
        {"query": "驾驶证丢了怎么办", "gold": ["gat-003"]},
        {"query": "想迁户口", "gold": ["gat-020"]},
        {"query": "结婚登记带啥", "gold": ["mzt-001"]},
    ]
    path = tmp_path / "queries.jsonl"
    path.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in queries), encoding="utf-8")

    call_command("faq_eval", str(path), "--k", "3")

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert set(result) == {"n", "recall@1", "recall@3", "mrr", "gold_above_cut", "none_above_cut", "p50_ms", "p95_ms"}
    assert result["n"] == 4
    assert result["recall@1"] == 1.0 and result["recall@3"] == 1.0 and result["mrr"] == 1.0
    assert 0 < result["p50_ms"] <= result["p95_ms"]

    call_command("faq_eval", str(path), "--half", "odd")
    assert json.loads(capsys.readouterr().out)["n"] == 2


def test_eval_refuses_bad_files(corpus, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"query": "驾照"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match="第 1 行"):
        call_command("faq_eval", str(path))
    path.write_text('{"query": "驾照", "gold": ["nope-1"]}\n', encoding="utf-8")
    with pytest.raises(CommandError, match="nope-1"):
        call_command("faq_eval", str(path))
