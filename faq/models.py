"""The knowledge base of the similar-question search (常见问题检索)."""

import re
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from chat.models import Conversation
from departments.models import Department, Window


class Source(models.TextChoices):
    CURATED = "curated", _("人工整理")
    CONVERSATION = "conversation", _("会话整理发布")
    ARCHIVE = "archive", _("历史答复（仅本部门值班人员可见）")


class Entry(models.Model):
    """A question and its answer (常见问题): curated, published from a conversation, or an archived answer.

    Citizens see published entries only. Archived answers of past conversations are never
    published; officers of the department see them as suggestions.
    """

    key = models.CharField(
        _("编号"), max_length=64, unique=True, help_text=_("导入文件中的 key；再次导入同一编号会更新该条目")
    )
    department = models.ForeignKey(
        Department, verbose_name=_("部门"), on_delete=models.PROTECT, related_name="faq_entries"
    )
    window = models.ForeignKey(
        Window, verbose_name=_("窗口"), null=True, blank=True, on_delete=models.PROTECT, related_name="faq_entries"
    )
    question = models.CharField(_("问题"), max_length=500)
    answer = models.TextField(_("答复"))
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.CURATED)
    conversation = models.OneToOneField(
        Conversation,
        verbose_name=_("来源会话"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="faq_entry",
    )
    is_published = models.BooleanField(_("已发布"), default=False, db_index=True, help_text=_("发布后市民可以检索到"))
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("整理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # The search index of this entry, written by the actions (faq.actions._index_fields).
    question_vector = models.BinaryField(_("问题向量"), null=True, blank=True, editable=False)
    passage_vector = models.BinaryField(_("全文向量"), null=True, blank=True, editable=False)
    vector_model = models.CharField(_("向量模型"), max_length=64, blank=True, editable=False)
    terms = models.TextField(_("检索词"), blank=True, editable=False)

    class Meta:
        ordering = ["department__ordering", "department_id", "key"]
        verbose_name = _("常见问题")
        verbose_name_plural = _("常见问题")
        indexes = [models.Index(fields=["department", "is_published"], name="faq_entry_dept_published")]

    def __str__(self):
        return f"{self.key} {self.question}"


class Synonym(models.Model):
    """A group of words citizens and officers use for the same thing (同义词: 驾照 = 驾驶证).

    A query that contains one word of a group is also matched, on the lexical side of the search,
    against the group's other words.
    """

    words = models.CharField(
        _("同义词"),
        max_length=200,
        unique=True,
        help_text=_("同一事物的不同说法，用空格、逗号、顿号或等号分隔，例如：驾照 = 驾驶证 = 机动车驾驶证"),
    )
    is_active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["words"]
        verbose_name = _("同义词")
        verbose_name_plural = _("同义词")

    def __str__(self):
        return " = ".join(self.words_tuple())

    def words_tuple(self) -> tuple[str, ...]:
        return split_synonyms(self.words)


def split_synonyms(text: str) -> tuple[str, ...]:
    """Return the distinct words of a synonym group as written (separators: space , ， 、 = ＝ ; ；)."""
    words = [w.strip() for w in re.split(r"[\s,，、=＝;；/]+", text or "") if w.strip()]
    return tuple(dict.fromkeys(words))


class IndexState(models.Model):
    """The version of the search index; every change of an entry gives it a new random token.

    Each process keeps its index in memory and rebuilds it when the token differs from the one it
    was built at, so an entry saved in one process is found by all (a random token, not a counter,
    so that a rolled-back change can never make two different indexes look the same).
    """

    token = models.CharField(max_length=32, default="")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("检索索引版本")
        verbose_name_plural = _("检索索引版本")

    def __str__(self):
        return self.token

    @staticmethod
    def new_token() -> str:
        return uuid.uuid4().hex
