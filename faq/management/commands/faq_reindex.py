"""Rebuild the search index of every FAQ entry: lexical terms and sentence vectors."""

import os

from django.core.management.base import BaseCommand
from tqdm import tqdm

from faq.actions import archive_answered_conversations, reindex_entries
from faq.engine.embedder import get_embedder
from faq.models import Entry


class Command(BaseCommand):
    help = "重建常见问题检索索引（分词与语义向量），并把已答复的已结束会话存为仅本部门可见的历史答复。"

    def add_arguments(self, parser):
        parser.add_argument("--no-archive", action="store_true", help="不收录已答复会话（默认收录尚未收录的会话）")

    def execute(self, *args, **options):
        # Batches embed in parallel across texts, unlike single queries: use every core here.
        os.environ.setdefault("FAQ_EMBEDDING_THREADS", str(os.cpu_count() or 1))
        return super().execute(*args, **options)

    def handle(self, *args, no_archive, **options):
        if not no_archive:
            archived = archive_answered_conversations()
            self.stdout.write(f"收录历史答复 {archived} 条。")
        if get_embedder() is None:
            self.stderr.write("语义模型不可用：只重建分词索引，检索将按关键词排序。")
        total = Entry.objects.count()
        with tqdm(total=total, desc="faq_reindex", unit="条", disable=options["verbosity"] == 0) as bar:
            count = reindex_entries(progress=bar.update)
        self.stdout.write(f"已重建 {count} 条常见问题的索引。")
