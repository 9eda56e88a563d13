"""Import FAQ entries from a JSON Lines file (the format of shared/eval/faq_corpus.jsonl)."""

import os

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from faq.actions import FaqError, embed_missing_vectors, import_entries
from faq.importing import ImportProblems, read_records


class Command(BaseCommand):
    help = (
        "导入常见问题（JSON Lines：key, department, window, question, answer）。同一 key 再次导入会更新该条目；"
        "任何一行有误则整份文件都不导入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="JSON Lines 文件路径")
        parser.add_argument(
            "--create-missing", action="store_true", help="创建文件中出现但数据库中没有的部门和窗口（默认报错）"
        )
        parser.add_argument("--draft", action="store_true", help="导入为草稿（不发布），默认直接发布")

    def execute(self, *args, **options):
        # Batches embed in parallel across texts, unlike single queries: use every core here.
        os.environ.setdefault("FAQ_EMBEDDING_THREADS", str(os.cpu_count() or 1))
        return super().execute(*args, **options)

    def handle(self, *args, path, create_missing, draft, **options):
        try:
            with open(path, encoding="utf-8") as handle:
                lines = handle.readlines()
        except OSError as error:
            raise CommandError(f"无法读取文件 {path}：{error.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"文件 {path} 不是 UTF-8 编码") from None
        try:
            records = read_records(lines, create_missing=create_missing)
        except ImportProblems as problems:
            raise CommandError("没有导入任何条目：\n" + str(problems)) from None
        with tqdm(total=len(records), desc="faq_import", unit="条", disable=options["verbosity"] == 0) as bar:
            try:
                result = import_entries(records=records, published=not draft, progress=bar.update)
            except FaqError as error:
                raise CommandError("没有导入任何条目：\n" + error.message) from None
        self.stdout.write(f"导入完成：新增 {result.created} 条，更新 {result.updated} 条，未变 {result.unchanged} 条。")
        # Entries saved while the model was off (e.g. archived answers) get their vectors now.
        embedded = embed_missing_vectors()
        if embedded:
            self.stdout.write(f"已为 {embedded} 条缺少语义向量的常见问题补算向量。")
