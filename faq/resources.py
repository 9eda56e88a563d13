"""Spreadsheet import and export of FAQ entries (XLSX and CSV, django-import-export).

Chinese column headers; an entry is identified by its key (编号), so importing the same file again
updates the entries. Rows whose cells are all as saved are skipped (and left out of the preview), so
their 更新于 dates stay. The preview (dry run) only checks the rows: it neither embeds nor holds a
transaction. The confirmed import saves each changed row through faq.actions.save_entry, which
embeds it outside any transaction and then writes it in a short one of its own: citizens keep
logging in during a long import, even on the embedded SQLite. A file with any bad row imports nothing:
every row is checked before the first is saved (a row that only fails while being saved, e.g. a
department deleted meanwhile, is reported and the rows before it stay imported).
"""

import time

from django.core.exceptions import ValidationError
from django.db import connection
from import_export import fields, widgets
from import_export.instance_loaders import CachedInstanceLoader

from departments.models import Department, Window
from departments.resources import ChineseRowErrorsMixin, NamedForeignKeyWidget, TextWidget, YesNoWidget
from infra import personal_data
from infra.spreadsheet import SafeModelResource

from . import actions
from .models import Entry, Source

SQLITE_PAUSE_EVERY = 50


class WindowOfDepartmentWidget(widgets.Widget):
    """Read a window by its name within the row's department; write its name."""

    def clean(self, value, row=None, **kwargs):
        name = str(value or "").strip()
        if not name:
            return None
        department = str((row or {}).get("部门", "")).strip()
        windows = kwargs.get("windows_by_name")
        if windows is not None:
            if (department, name) in windows:
                return windows[(department, name)]
            raise ValueError(f"{department}没有名为“{name}”的窗口")
        try:
            return Window.objects.get(department__name=department, name=name)
        except Window.DoesNotExist:
            raise ValueError(f"{department}没有名为“{name}”的窗口") from None

    def render(self, value, obj=None, **kwargs):
        return value.name if value else ""


class EntryResource(ChineseRowErrorsMixin, SafeModelResource):
    key = fields.Field(attribute="key", column_name="编号", widget=TextWidget())
    department = fields.Field(
        attribute="department", column_name="部门", widget=NamedForeignKeyWidget(Department, "name", "部门")
    )
    window = fields.Field(attribute="window", column_name="窗口", widget=WindowOfDepartmentWidget())
    question = fields.Field(attribute="question", column_name="问题", widget=TextWidget())
    answer = fields.Field(attribute="answer", column_name="答复", widget=TextWidget())
    is_published = fields.Field(attribute="is_published", column_name="已发布", widget=YesNoWidget())

    class Meta:
        model = Entry
        import_id_fields = ("key",)
        fields = ("key", "department", "window", "question", "answer", "is_published")
        export_order = fields
        clean_model_instances = False
        skip_unchanged = True
        report_skipped = False
        # Entries of the file loaded in one query by key, not one per row.
        instance_loader_class = CachedInstanceLoader

    def import_data(
        self, dataset, dry_run=False, raise_errors=False, use_transactions=None, collect_failed_rows=False, **kwargs
    ):
        # Departments and windows by name, loaded once for the file instead of twice per row.
        kwargs["rows_by_name"] = {Department: {d.name: d for d in Department.objects.all()}}
        kwargs["windows_by_name"] = {
            (w.department.name, w.name): w for w in Window.objects.select_related("department")
        }
        # The check (the preview, and the first pass of a confirm) saves nothing, so it runs outside any
        # transaction: import-export wraps even a dry run in one to roll it back, and on SQLite, whose
        # transactions begin IMMEDIATE, that held the one write lock for the whole check (about a minute
        # for 10,000 rows) while every login waited on it.
        kwargs.pop("rollback_on_validation_errors", None)
        checked = self.import_data_inner(dataset, True, raise_errors, False, collect_failed_rows, **kwargs)
        if dry_run or checked.has_errors() or checked.has_validation_errors():
            return checked
        # All or nothing without a long transaction: only a clean file is saved, each row in its own
        # short transaction (save_entry).
        return super().import_data(
            dataset,
            dry_run=False,
            raise_errors=raise_errors,
            use_transactions=False,
            collect_failed_rows=collect_failed_rows,
            **kwargs,
        )

    def before_save_instance(self, instance, row, **kwargs):
        # The preview saves nothing, so the rules save_entry applies are checked here for it.
        if instance.department is None:
            raise ValidationError({"部门": "不能为空"})
        try:
            actions.check_entry(
                department=instance.department,
                window=instance.window,
                question=instance.question,
                answer=instance.answer,
            )
        except actions.FaqError as error:
            raise ValidationError(error.message) from None

    # An export leaves the system: text that came from a citizen's conversation and was not checked
    # for publication (archived answers, drafts) goes out with its personal data masked.
    def _exported_text(self, entry: Entry, text: str) -> str:
        if entry.source == Source.CURATED or entry.is_published:
            return text
        return personal_data.mask(text)

    def dehydrate_question(self, entry):
        return self._exported_text(entry, entry.question)

    def dehydrate_answer(self, entry):
        return self._exported_text(entry, entry.answer)

    def get_export_queryset(self, request=None):
        return Entry.objects.select_related("department", "window").order_by("department_id", "key")

    def do_instance_save(self, instance, is_create):
        self._saved = getattr(self, "_saved", 0) + 1
        if self._saved % SQLITE_PAUSE_EVERY == 0 and connection.vendor == "sqlite":
            # SQLite has one writer and its lock is not fair: a process committing short transactions
            # back to back can starve a login waiting on the busy timeout. A pause longer than the
            # busy handler's longest sleep (100 ms) lets waiting writers in.
            time.sleep(0.11)
        try:
            actions.save_entry(
                entry=instance,
                department=instance.department,
                window=instance.window,
                question=instance.question,
                answer=instance.answer,
                is_published=bool(instance.is_published),
            )
        except actions.FaqError as error:
            raise ValidationError(error.message) from None
