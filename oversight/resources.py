"""django-import-export resources of the monthly assessment spreadsheet (月度考核表) and the transcript list.

Numbers stay numbers; any text that a spreadsheet could read as a formula is neutralised.
"""

from django.utils import timezone
from import_export import fields, resources, widgets

from infra import personal_data
from infra.privacy import person_label
from infra.spreadsheet import SafeModelResource, SafeResource, safe_cell

from .figures import DEFINITIONS
from .models import AuditLog, Transcript


class SafeTextWidget(widgets.CharWidget):
    """Text from users (names, comments) rendered so that no spreadsheet evaluates it."""

    def __init__(self):
        super().__init__(coerce_to_string=True, allow_blank=True)

    def render(self, value, obj=None, **kwargs):
        return safe_cell(super().render(value, obj, **kwargs))


def _text(attribute: str, header: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=header, widget=SafeTextWidget())


def _figure_fields() -> dict[str, fields.Field]:
    return {
        definition.key: fields.Field(
            attribute=f"figures__{definition.key}",
            column_name=definition.label,
            widget=widgets.NumberWidget(coerce_to_string=False),
        )
        for definition in DEFINITIONS
    }


def _resource(name: str, identity: dict[str, fields.Field]) -> type[resources.Resource]:
    attrs = {**identity, **_figure_fields()}
    attrs["Meta"] = type("Meta", (), {"export_order": list(attrs)})
    return type(name, (SafeResource,), attrs)


DepartmentFiguresResource = _resource("DepartmentFiguresResource", {"name": _text("name", "部门")})
WindowFiguresResource = _resource(
    "WindowFiguresResource", {"department": _text("department", "部门"), "name": _text("name", "窗口")}
)
OfficerFiguresResource = _resource(
    "OfficerFiguresResource",
    {"name": _text("name", "值班人员"), "department": _text("department", "部门"), "window": _text("window", "窗口")},
)
RESOURCES_BY_LEVEL = {
    "department": DepartmentFiguresResource,
    "window": WindowFiguresResource,
    "officer": OfficerFiguresResource,
}


class TranscriptResource(SafeModelResource):
    """The transcript list for export: who, where, when and how, with the citizen's phone masked."""

    id = fields.Field(attribute="id", column_name="会话编号", widget=widgets.NumberWidget(coerce_to_string=False))
    department = _text("window__department__name", "部门")
    window = _text("window__name", "窗口")
    citizen = fields.Field(column_name="市民", widget=SafeTextWidget())
    officer = fields.Field(column_name="接待人员", widget=SafeTextWidget())
    status = fields.Field(column_name="状态", widget=SafeTextWidget())
    classification = fields.Field(column_name="分类", widget=SafeTextWidget())
    first_question_at = fields.Field(column_name="首次提问时间", widget=SafeTextWidget())
    answered_live = fields.Field(column_name="即时答复", widget=SafeTextWidget())
    is_offline_question = fields.Field(column_name="留言", widget=SafeTextWidget())
    rating = fields.Field(attribute="rating", column_name="满意度", widget=widgets.NumberWidget(coerce_to_string=False))
    rating_comment = _text("rating_comment", "评价意见")

    class Meta:
        model = Transcript
        name = "对话列表"
        fields = export_order = [
            "id",
            "department",
            "window",
            "citizen",
            "officer",
            "status",
            "classification",
            "first_question_at",
            "answered_live",
            "is_offline_question",
            "rating",
            "rating_comment",
        ]

    def dehydrate_citizen(self, conversation):
        return person_label(conversation.citizen)

    def dehydrate_rating_comment(self, conversation):
        # The comment is the citizen's own text and the file leaves the system: personal data masked.
        return personal_data.mask(conversation.rating_comment or "")

    def dehydrate_officer(self, conversation):
        return str(conversation.officer) if conversation.officer_id else ""

    def dehydrate_status(self, conversation):
        return conversation.get_status_display()

    def dehydrate_classification(self, conversation):
        return conversation.get_classification_display() if conversation.classification else "未分类"

    def dehydrate_first_question_at(self, conversation):
        moment = conversation.first_question_at
        return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S}" if moment else ""

    def dehydrate_answered_live(self, conversation):
        return "是" if conversation.answered_live else "否"

    def dehydrate_is_offline_question(self, conversation):
        return "是" if conversation.is_offline_question else "否"


class AuditLogResource(SafeModelResource):
    """The audit log as the information center downloads it (审计日志导出)."""

    at = fields.Field(attribute="at", column_name="时间")
    actor_name = _text("actor_name", "操作人账号")
    action = fields.Field(attribute="action", column_name="操作")
    object_type = _text("object_type", "对象类型")
    object_id = _text("object_id", "对象编号")
    summary = _text("summary", "摘要")
    ip_address = _text("ip_address", "IP 地址")

    class Meta:
        model = AuditLog
        fields = ("at", "actor_name", "action", "object_type", "object_id", "summary", "ip_address")
        export_order = fields

    def dehydrate_at(self, entry):
        return f"{timezone.localtime(entry.at):%Y-%m-%d %H:%M:%S}"

    def dehydrate_action(self, entry):
        return entry.get_action_display()
