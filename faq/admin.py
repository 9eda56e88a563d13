"""The information center's console for the knowledge base; saves and bulk changes go through actions."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats

from departments.resources import ChineseExportForm, SpreadsheetImportMixin
from infra.audit import AuditedReadsMixin

from . import actions
from .models import Entry, Synonym, split_synonyms
from .resources import EntryResource


class EntryAdminForm(forms.ModelForm):
    confirm_names = forms.BooleanField(
        label=_("我已核对，疑似姓名不是个人信息"),
        required=False,
        help_text=_("只对来自市民会话的条目有效；手机号、身份证号等必须删去，不能确认。"),
    )

    class Meta:
        model = Entry
        fields = "__all__"

    def clean(self):
        data = super().clean()
        department, window = data.get("department"), data.get("window")
        if department and window and window.department_id != department.id:
            self.add_error("window", f"窗口“{window.name}”不属于{department.name}。")
        if data.get("is_published") and not self.errors:
            # The same check as the action, so that the page shows the reason next to the text.
            candidate = Entry(
                key=self.instance.key or data.get("key", ""),
                source=self.instance.source,
                conversation=self.instance.conversation if self.instance.conversation_id else None,
                question=data.get("question", ""),
                answer=data.get("answer", ""),
            )
            try:
                actions.check_publication(candidate, names_confirmed=data.get("confirm_names", False))
            except actions.FaqError as error:
                self.add_error(None, error.message)
        return data


@admin.register(Entry)
class EntryAdmin(AuditedReadsMixin, SpreadsheetImportMixin, ImportExportModelAdmin):
    form = EntryAdminForm
    resource_classes = [EntryResource]
    formats = [base_formats.XLSX, base_formats.CSV]
    export_form_class = ChineseExportForm
    import_template_name = "admin/faq/entry/import.html"
    import_error_display = ("message",)
    list_display = ("key", "question", "department", "window", "source", "is_published", "updated_at")
    list_display_links = ("key", "question")
    list_filter = ("is_published", "source", "department")
    list_select_related = ("department", "window")
    search_fields = ("key", "question", "answer")
    autocomplete_fields = ("department", "window")
    readonly_fields = (
        "source",
        "conversation",
        "published_at",
        "created_by",
        "created_at",
        "updated_at",
        "vector_model",
    )
    fields = (
        "key",
        "department",
        "window",
        "question",
        "answer",
        "is_published",
        "confirm_names",
        "source",
        "conversation",
        "published_at",
        "created_by",
        "created_at",
        "updated_at",
        "vector_model",
    )
    actions = ["publish", "withdraw", "embed_missing"]

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def save_model(self, request, obj, form, change):
        try:
            actions.save_entry(
                entry=obj,
                key=obj.key,
                department=obj.department,
                window=obj.window,
                question=obj.question,
                answer=obj.answer,
                is_published=obj.is_published,
                by=request.user,
                names_confirmed=form.cleaned_data.get("confirm_names", False),
            )
        except actions.FaqError as error:
            # The form checked these already; kept for a change racing with another one.
            self.message_user(request, error.message, messages.ERROR)

    def delete_model(self, request, obj):
        actions.delete_entries(entries=[obj])

    def delete_queryset(self, request, queryset):
        actions.delete_entries(entries=list(queryset))

    @admin.action(description=_("发布所选常见问题"), permissions=["change"])
    def publish(self, request, queryset):
        try:
            count = actions.set_published(
                entries=list(queryset.select_related("conversation__citizen")), published=True
            )
        except actions.FaqError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, f"已发布 {count} 条。", messages.SUCCESS)

    @admin.action(description=_("为缺少语义向量的全部常见问题补算向量"), permissions=["change"])
    def embed_missing(self, request, queryset):
        count = actions.embed_missing_vectors()
        if count:
            self.message_user(request, f"已为 {count} 条常见问题补算语义向量。", messages.SUCCESS)
        else:
            self.message_user(request, "没有缺少向量的常见问题，或语义模型暂不可用。", messages.WARNING)

    @admin.action(description=_("撤回所选常见问题（市民不再可见）"), permissions=["change"])
    def withdraw(self, request, queryset):
        count = actions.set_published(entries=list(queryset), published=False)
        self.message_user(request, f"已撤回 {count} 条。", messages.SUCCESS)


class SynonymAdminForm(forms.ModelForm):
    class Meta:
        model = Synonym
        fields = ("words", "is_active")

    def clean_words(self):
        words = self.cleaned_data["words"]
        if len(split_synonyms(words)) < 2:
            raise forms.ValidationError("同义词至少要有两个不同的词，例如：驾照 = 驾驶证。")
        return words


@admin.register(Synonym)
class SynonymAdmin(admin.ModelAdmin):
    """Words citizens use for the same thing; the search matches a query's word with the others of its group."""

    form = SynonymAdminForm
    list_display = ("__str__", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("words",)

    def save_model(self, request, obj, form, change):
        try:
            actions.save_synonym(synonym=obj, words=obj.words, is_active=obj.is_active)
        except actions.FaqError as error:
            self.message_user(request, error.message, messages.ERROR)

    def delete_model(self, request, obj):
        actions.delete_synonyms(synonyms=[obj])

    def delete_queryset(self, request, queryset):
        actions.delete_synonyms(synonyms=list(queryset))
