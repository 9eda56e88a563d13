"""Spreadsheet import and export of departments and windows (XLSX and CSV, django-import-export).

Columns carry Chinese headers so the information center can fill them in by hand. A department is
identified by its name, a window by its department's name and its own name, officers by username:
importing the same file twice updates the rows instead of duplicating them. A file with any bad
row imports nothing.
"""

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from import_export import fields, widgets
from import_export.forms import SelectableFieldsExportForm

from infra.spreadsheet import SafeModelResource

from . import actions
from .models import Department, Level, Window

# Messages of import-export's widgets that reach the information center untranslated.
LIBRARY_MESSAGES = {
    "Value could not be parsed using defined formats.": "无法识别的格式，请按导出表格中的格式填写",
    "Enter a number.": "请填写数字",
    "Value must be an integer.": "请填写整数",
    "None": "不能为空",
}


def decode_csv(data: bytes) -> str:
    """Return the text of a CSV file saved as UTF-8 (with or without BOM) or as GBK (Excel on Chinese Windows)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValueError("无法识别文件的编码。请在 Excel 中“另存为”“CSV UTF-8（逗号分隔）”或 XLSX 后再导入。") from None


class SpreadsheetImportMixin:
    """For the admin: CSV files in GBK as well as UTF-8, and a Chinese message for an unreadable file."""

    def write_to_tmp_storage(self, import_file, input_format):
        if not input_format.is_binary():
            data = b"".join(import_file.chunks())
            try:
                import_file = ContentFile(decode_csv(data).encode("utf-8"), name=import_file.name)
            except ValueError:
                import_file = ContentFile(data, name=import_file.name)
        return super().write_to_tmp_storage(import_file, input_format)

    def add_data_read_fail_error_to_form(self, form, e):
        form.add_error(
            "import_file",
            "无法读取这个文件：请确认上面选择的格式与文件一致（.xlsx 选 xlsx，.csv 选 csv）；"
            "CSV 文件请用 UTF-8 或 GBK 编码保存，最稳妥的是在 Excel 中“另存为”XLSX。",
        )


class ChineseRowErrorsMixin:
    """For resources: a row's errors named by the spreadsheet's column headers, in Chinese."""

    def import_instance(self, instance, row, **kwargs):
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                raise
            headers = {field.attribute: field.column_name for field in self.get_import_fields()}
            raise ValidationError(
                {
                    headers.get(name, name): [
                        ValidationError(LIBRARY_MESSAGES.get(message, message)) for message in errors.messages
                    ]
                    for name, errors in ((name, ValidationError(errors)) for name, errors in error.error_dict.items())
                }
            ) from None


class ChineseExportForm(SelectableFieldsExportForm):
    """The export page's field checkboxes labelled with the spreadsheet's Chinese headers only.

    The library labels them "Key (编号)": the attribute name, title-cased, then the header.
    """

    def _get_field_label(self, resource, field_name: str) -> str:
        field = resource.fields.get(field_name)
        return field.column_name if field and field.column_name else super()._get_field_label(resource, field_name)


class TextWidget(widgets.CharWidget):
    """Read text with surrounding blanks removed; an empty cell is an empty string."""

    def clean(self, value, row=None, **kwargs):
        return super().clean(value, row, **kwargs).strip()


class YesNoWidget(widgets.Widget):
    """Read 是/否 (or 1/0, true/false); an empty cell keeps the default; write 是/否."""

    TRUE = {"是", "启用", "1", "true", "yes", "y"}
    FALSE = {"否", "停用", "0", "false", "no", "n"}

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValueError(f"“{value}”无法识别，请填“是”或“否”")

    def render(self, value, obj=None, **kwargs):
        return "是" if value else "否"


class ChoiceLabelWidget(widgets.CharWidget):
    """Read a choice by its Chinese label or its stored value; write the label."""

    def __init__(self, choices, **kwargs):
        self.choices = choices
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        text = super().clean(value, row, **kwargs).strip()
        if not text:
            return None
        for stored, label in self.choices.choices:
            if text in (stored, str(label)):
                return stored
        labels = "、".join(str(label) for label in self.choices.labels)
        raise ValueError(f"“{text}”无效，只能填：{labels}")

    def render(self, value, obj=None, **kwargs):
        return str(self.choices(value).label) if value else ""


class NamedForeignKeyWidget(widgets.ForeignKeyWidget):
    """Look a related row up by name and say in Chinese when it is missing."""

    def __init__(self, model, field, noun, **kwargs):
        self.noun = noun
        super().__init__(model, field=field, **kwargs)

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, str):
            value = value.strip()
        # A resource may pass every row of the model by name (one query per import, not per row).
        by_name = (kwargs.get("rows_by_name") or {}).get(self.model)
        if by_name is not None and value:
            if value in by_name:
                return by_name[value]
            raise ValueError(f"找不到{self.noun}“{value}”，请检查名称或先添加该{self.noun}")
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(f"找不到{self.noun}“{value}”，请检查名称或先添加该{self.noun}") from None


class OfficersWidget(widgets.ManyToManyWidget):
    """Read officers as usernames separated by commas (, ， 、 ;) and reject unknown ones."""

    def __init__(self, **kwargs):
        super().__init__(get_user_model(), separator=",", field="username", **kwargs)

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return self.model.objects.none()
        usernames = [name.strip() for name in re.split(r"[,，、;；\s]+", str(value)) if name.strip()]
        officers = list(self.model.objects.filter(username__in=usernames))
        found = {officer.username for officer in officers}
        missing = [name for name in usernames if name not in found]
        if missing:
            raise ValueError(f"找不到值班人员账号：{'、'.join(missing)}")
        not_officers = [officer.username for officer in officers if not officer.is_officer]
        if not_officers:
            raise ValueError(f"以下账号不是值班人员，不能分配到窗口：{'、'.join(not_officers)}")
        return self.model.objects.filter(pk__in=[officer.pk for officer in officers])


def _text(attribute: str, column_name: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column_name, widget=TextWidget())


def _number(attribute: str, column_name: str, default: int) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column_name, widget=widgets.IntegerWidget(), default=default)


def _yes_no(attribute: str, column_name: str) -> fields.Field:
    # An empty cell leaves the value as it is (the model's default for a new row).
    return fields.Field(attribute=attribute, column_name=column_name, widget=YesNoWidget(), saves_null_values=False)


class AllOrNothingResource(SafeModelResource):
    """A resource whose import is rolled back as a whole when any row is invalid.

    A row's errors are keyed by the spreadsheet's Chinese column names, not the model's field names.
    """

    def import_data(self, dataset, *args, **kwargs):
        # import-export keeps the good rows of a file with validation errors unless told otherwise.
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().import_data(dataset, *args, **kwargs)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        try:
            super().validate_instance(instance, import_validation_errors, validate_unique)
        except ValidationError as error:
            columns = {field.attribute: field.column_name for field in self.get_import_fields()}
            raise ValidationError(
                {columns.get(key, key): messages for key, messages in error.message_dict.items()}
            ) from None


class DepartmentResource(AllOrNothingResource):
    name = _text("name", "名称")
    short_name = _text("short_name", "简称")
    level = fields.Field(
        attribute="level", column_name="层级", widget=ChoiceLabelWidget(Level), saves_null_values=False
    )
    parent = fields.Field(
        attribute="parent", column_name="上级部门", widget=NamedForeignKeyWidget(Department, "name", noun="上级部门")
    )
    contact_phone = _text("contact_phone", "联系电话")
    address = _text("address", "地址")
    website = _text("website", "网站")
    ordering = _number("ordering", "排序", default=100)
    is_active = _yes_no("is_active", "启用")

    class Meta:
        model = Department
        import_id_fields = ("name",)
        fields = (
            "name",
            "short_name",
            "level",
            "parent",
            "contact_phone",
            "address",
            "website",
            "ordering",
            "is_active",
        )
        use_transactions = True
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class WindowResource(AllOrNothingResource):
    department = fields.Field(
        attribute="department", column_name="部门", widget=NamedForeignKeyWidget(Department, "name", noun="部门")
    )
    name = _text("name", "窗口名称")
    duty_statement = _text("duty_statement", "职责说明")
    accepts = _text("accepts", "受理内容")
    does_not_accept = _text("does_not_accept", "不受理内容")
    officers = fields.Field(attribute="officers", column_name="值班人员", widget=OfficersWidget())
    max_concurrent_chats = _number("max_concurrent_chats", "每人最多同时会话", default=10)
    auto_assign = _yes_no("auto_assign", "自动分配")
    duty_start = fields.Field(
        attribute="duty_start", column_name="值班开始", widget=widgets.TimeWidget("%H:%M"), saves_null_values=False
    )
    duty_end = fields.Field(
        attribute="duty_end", column_name="值班结束", widget=widgets.TimeWidget("%H:%M"), saves_null_values=False
    )
    ordering = _number("ordering", "排序", default=100)
    is_active = _yes_no("is_active", "启用")

    class Meta:
        model = Window
        import_id_fields = ("department", "name")
        fields = (
            "department",
            "name",
            "duty_statement",
            "accepts",
            "does_not_accept",
            "officers",
            "max_concurrent_chats",
            "auto_assign",
            "duty_start",
            "duty_end",
            "ordering",
            "is_active",
        )
        use_transactions = True
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def import_instance(self, instance, row, **kwargs):
        # import-export sets many-to-many fields only after saving, where a bad username would be a
        # crash of the row; check the officers here so they are reported with the other field errors.
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        officers = self.fields["officers"]
        if officers.column_name in row:
            try:
                officers.clean(row)
            except ValueError as error:
                errors["officers"] = [str(error)]
        if errors:
            raise ValidationError(errors)

    def save_m2m(self, instance, row, **kwargs):
        before = set(instance.officers.values_list("id", flat=True)) if instance.pk else set()
        super().save_m2m(instance, row, **kwargs)
        if not kwargs.get("dry_run"):
            actions.notify_officer_windows_changed(
                officer_ids=before | set(instance.officers.values_list("id", flat=True))
            )

    def get_instance(self, instance_loader, row):
        # An unknown department makes the lookup fail; import_instance raises it again as a
        # field error of the row, which the admin shows in Chinese instead of a traceback.
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None
