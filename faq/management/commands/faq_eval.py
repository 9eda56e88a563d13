"""Measure the search on labelled queries: recall@1, recall@k, MRR and latency."""

import json
import time

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from faq import search
from faq.models import Entry
from faq.selectors import relevance_cut


class Command(BaseCommand):
    help = (
        "用带标注的查询评测检索效果，输出一行 JSON：n, recall@1, recall@k, mrr, gold_above_cut（正确答案达到相关度门槛、会展示给市民的比例）, "
        "none_above_cut（没有任何结果达到门槛的比例）, p50_ms, p95_ms。"
        '查询文件每行形如 {"query": "...", "gold": ["key"]}。'
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="JSON Lines 查询文件")
        parser.add_argument("--k", type=int, default=5, help="recall@k 的 k（默认 5）")
        parser.add_argument(
            "--half", choices=["even", "odd"], help="只评测偶数行或奇数行（第 1 行为偶数），用于分半交叉验证"
        )

    def handle(self, *args, path, k, half, **options):
        if k < 1:
            raise CommandError("--k 必须是正整数")
        queries = self._read(path)
        if half:
            queries = queries[0 if half == "even" else 1 :: 2]
        keys = dict(Entry.objects.values_list("id", "key"))
        unknown = {g for _, gold in queries for g in gold} - set(keys.values())
        if unknown:
            raise CommandError(f"标注中的编号不在知识库中（先运行 faq_import）：{'、'.join(sorted(unknown)[:10])}")
        search.get_index()  # build the index and load the model before timing
        search.search("预热")
        depth = max(k, 10)
        cut = relevance_cut()
        reciprocal, latencies, shown, empty = [], [], [], []
        for query, gold in queries:
            started = time.perf_counter()
            hits = search.search(query, published_only=False, limit=depth)
            latencies.append((time.perf_counter() - started) * 1000)
            ranked = [keys[entry_id] for entry_id, _ in hits]
            rank = next((i + 1 for i, key in enumerate(ranked) if key in gold), None)
            reciprocal.append(1 / rank if rank else 0.0)
            # What a citizen is shown: only entries at or above the relevance cut-off.
            shown.append(rank is not None and hits[rank - 1][1].score >= cut)
            empty.append(not hits or hits[0][1].score < cut)
        rr = np.array(reciprocal)
        result = {
            "n": len(queries),
            "recall@1": round(float((rr >= 1).mean()), 4),
            f"recall@{k}": round(float((rr >= 1 / k).mean()), 4),
            "mrr": round(float(rr.mean()), 4),
            "gold_above_cut": round(float(np.mean(shown)), 4),
            "none_above_cut": round(float(np.mean(empty)), 4),
            "p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "p95_ms": round(float(np.percentile(latencies, 95)), 2),
        }
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _read(self, path: str) -> list[tuple[str, list[str]]]:
        try:
            with open(path, encoding="utf-8") as handle:
                lines = handle.readlines()
        except OSError as error:
            raise CommandError(f"无法读取文件 {path}：{error.strerror}") from None
        queries = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                query, gold = data["query"], data["gold"]
                if not isinstance(query, str) or not isinstance(gold, list) or not gold:
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                raise CommandError(f'第 {number} 行：应为 {{"query": "...", "gold": ["key"]}}') from None
            queries.append((query, [str(g) for g in gold]))
        if not queries:
            raise CommandError("查询文件中没有查询")
        return queries
