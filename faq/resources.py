"""Spreadsheet import and export of FAQ entries (XLSX and CSV, django-import-export).

Chinese column headers; an entry is identified by its key (编号), so importing the same file again
updates the entries. Every row is saved through faq.actions.save_entry, which indexes it; a file
with any bad row imports nothing.
"""
from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from departments.models import Department, Window
from infra.spreadsheet import SafeModelResource
from departments.resources import NamedForeignKeyWidget, TextWidget, YesNoWidget
from infra import personal_data

from . import actions
from .models import Entry, Source


class WindowOfDepartmentWidget(widgets.Widget):
    """Read a window by its name within the row's department; write its name."""

    def clean(self, value, row=None, **kwargs):
        name = str(value or "").strip()
        if not name:
            return None
        department = str((row or {}).get("部门", "")).strip()
        try:
            return Window.objects.get(department__name=department, name=name)
        except Window.DoesNotExist:
            raise ValueError(f"{department}没有名为“{name}”的窗口") from None

    def render(self, value, obj=None, **kwargs):
        return value.name if value else ""


class EntryResource(SafeModelResource):
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

    def import_data(self, dataset, **kwargs):
        # A file with any bad row imports nothing, whoever calls (the admin's confirm step or code).
        kwargs.setdefault("use_transactions", True)
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().import_data(dataset, **kwargs)

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
