"""Conversations (会话/咨询), their messages, officers' presence and canned replies."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from departments.models import Window


class Status(models.TextChoices):
    QUEUED = "queued", _("排队中")
    ACTIVE = "active", _("进行中")
    OFFLINE = "offline", _("留言待答复")
    CLOSED = "closed", _("已结束")


class Classification(models.TextChoices):
    VALID = "valid", _("有效咨询")
    GREETING = "greeting", _("问候闲聊")
    UNRELATED = "unrelated", _("与职责无关")
    UNCLEAR = "unclear", _("表述不清")


# Classes the duty rules let an officer leave unanswered; they do not count against the answer rate.
EXEMPT_CLASSIFICATIONS = (Classification.GREETING, Classification.UNRELATED, Classification.UNCLEAR)


class Rating(models.IntegerChoices):
    VERY_SATISFIED = 5, _("非常满意")
    SATISFIED = 4, _("满意")
    NEUTRAL = 3, _("一般")
    DISSATISFIED = 2, _("不满意")
    VERY_DISSATISFIED = 1, _("非常不满意")


class Conversation(models.Model):
    """One citizen's consultation (咨询) at one window."""

    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("市民"), on_delete=models.PROTECT, related_name="conversations"
    )
    window = models.ForeignKey(Window, verbose_name=_("窗口"), on_delete=models.PROTECT, related_name="conversations")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接待人员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_conversations",
    )
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    classification = models.CharField(
        _("分类"), max_length=16, choices=Classification.choices, blank=True, db_index=True
    )
    created_at = models.DateTimeField(_("开始时间"), auto_now_add=True, db_index=True)
    queued_at = models.DateTimeField(_("排队开始"), help_text=_("转办时保留原来的等待起点"))
    statement_acknowledged_at = models.DateTimeField(_("确认职责说明时间"), null=True, blank=True)
    first_question_at = models.DateTimeField(_("首次提问时间"), null=True, blank=True, db_index=True)
    assigned_at = models.DateTimeField(_("接入时间"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("首次答复时间"), null=True, blank=True)
    answered_live = models.BooleanField(_("即时答复"), default=False, help_text=_("首次答复时市民仍在线等待（非留言）"))
    is_offline_question = models.BooleanField(
        _("留言"), default=False, help_text=_("提问时无人在线或等待超时，按留言在下一个工作日内答复")
    )
    due_at = models.DateTimeField(_("答复期限"), null=True, blank=True, db_index=True)
    busy_notice_sent_at = models.DateTimeField(_("忙碌提示时间"), null=True, blank=True)
    ticket = models.PositiveBigIntegerField(
        _("排队号"), null=True, blank=True, help_text=_("在当前窗口队列中的顺序号，入队时领取，转办后在新窗口重新领取")
    )
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("结束人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_seq = models.PositiveIntegerField(_("最新消息序号"), default=0)
    last_message_at = models.DateTimeField(_("最后消息时间"), null=True, blank=True)
    citizen_read_seq = models.PositiveIntegerField(default=0)
    officer_read_seq = models.PositiveIntegerField(default=0)
    rating = models.PositiveSmallIntegerField(_("满意度"), choices=Rating.choices, null=True, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=500, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    # The citizen's consent to publish this Q&A once de-identified (chat.privacy.set_publication_consent).
    publication_consent = models.BooleanField(
        _("同意公开"), default=False, help_text=_("市民同意在去除个人信息后公开本次问答")
    )
    publication_consent_at = models.DateTimeField(_("同意公开的选择时间"), null=True, blank=True)
    publication_consent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("同意公开的选择人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("会话")
        verbose_name_plural = _("会话")
        indexes = [
            models.Index(fields=["window", "status", "queued_at"], name="conv_window_queue"),
            models.Index(fields=["officer", "status"], name="conv_officer_status"),
            models.Index(fields=["citizen", "-created_at"], name="conv_citizen_recent"),
            models.Index(fields=["window", "ticket"], name="conv_window_ticket"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.window} {self.get_status_display()}"


class QueueCounter(models.Model):
    """The last ticket (排队号) handed out at a window: waiting conversations queue in ticket order."""

    window = models.OneToOneField(Window, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_ticket = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("排队号计数")
        verbose_name_plural = _("排队号计数")

    def __str__(self):
        return f"{self.window_id}: {self.last_ticket}"


class SenderKind(models.TextChoices):
    CITIZEN = "citizen", _("市民")
    OFFICER = "officer", _("值班人员")
    SYSTEM = "system", _("系统")


class Message(models.Model):
    """A message of a conversation; seq only grows within its conversation."""

    conversation = models.ForeignKey(
        Conversation, verbose_name=_("会话"), on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveIntegerField(_("序号"))
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发送人"), null=True, blank=True, on_delete=models.PROTECT
    )
    sender_kind = models.CharField(_("发送方"), max_length=16, choices=SenderKind.choices)
    body = models.TextField(_("内容"))
    client_id = models.CharField(_("客户端编号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["conversation_id", "seq"]
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="unique_message_seq"),
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_id"],
                condition=~Q(client_id=""),
                name="unique_message_client_id",
            ),
        ]

    def __str__(self):
        return f"#{self.conversation_id}.{self.seq} {self.get_sender_kind_display()}"


class PresenceStatus(models.TextChoices):
    ONLINE = "online", _("在线")
    BUSY = "busy", _("忙碌")
    AWAY = "away", _("离开")
    OFFLINE = "offline", _("离线")


class OfficerPresence(models.Model):
    """An officer's current presence: the status they chose and what is in force now."""

    officer = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("值班人员"), on_delete=models.CASCADE, related_name="presence"
    )
    chosen_status = models.CharField(
        _("选择的状态"), max_length=16, choices=PresenceStatus.choices, default=PresenceStatus.ONLINE
    )
    status = models.CharField(
        _("当前状态"), max_length=16, choices=PresenceStatus.choices, default=PresenceStatus.OFFLINE, db_index=True
    )
    since = models.DateTimeField(_("状态开始"), null=True, blank=True)

    class Meta:
        verbose_name = _("值班状态")
        verbose_name_plural = _("值班状态")

    def __str__(self):
        return f"{self.officer} {self.get_status_display()}"


class DeskConnection(models.Model):
    """One open desk socket of an officer; the officer is on line while one has a fresh heartbeat."""

    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_connections")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    last_heartbeat = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("值班台连接")
        verbose_name_plural = _("值班台连接")


class CitizenConnection(models.Model):
    """One open chat page (socket) of a citizen; the citizen is on the page while one was seen lately.

    Kept in the database, not in a process: a conversation's tabs may sit on different daphne processes,
    and a process that dies leaves its rows to go stale (selectors.citizen_cutoff) and be swept.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="citizen_connections")
    channel_name = models.CharField(max_length=200, unique=True)
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("市民页面连接")
        verbose_name_plural = _("市民页面连接")


class PresenceInterval(models.Model):
    """A stretch of time an officer spent in one status; online-time figures are summed from these."""

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("值班人员"),
        on_delete=models.CASCADE,
        related_name="presence_intervals",
    )
    status = models.CharField(_("状态"), max_length=16, choices=PresenceStatus.choices)
    started_at = models.DateTimeField(_("开始"), db_index=True)
    ended_at = models.DateTimeField(_("结束"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("在线时段")
        verbose_name_plural = _("在线时段")
        constraints = [
            models.UniqueConstraint(
                fields=["officer"], condition=Q(ended_at__isnull=True), name="one_open_interval_per_officer"
            )
        ]

    def __str__(self):
        return f"{self.officer} {self.get_status_display()} {self.started_at:%Y-%m-%d %H:%M}"


class CannedReply(models.Model):
    """A ready-made reply (常用语) for one window, or for every window when window is empty."""

    window = models.ForeignKey(
        Window,
        verbose_name=_("窗口"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_replies",
        help_text=_("留空表示所有窗口通用"),
    )
    title = models.CharField(_("标题"), max_length=30)
    body = models.TextField(_("内容"), max_length=1000)
    ordering = models.PositiveIntegerField(_("排序"), default=100)

    class Meta:
        ordering = ["ordering", "id"]
        verbose_name = _("常用回复")
        verbose_name_plural = _("常用回复")

    def __str__(self):
        return self.title


class Transfer(models.Model):
    """A live hand-over (转办) of a conversation from one window to another, with an internal note."""

    conversation = models.ForeignKey(
        Conversation, verbose_name=_("会话"), on_delete=models.CASCADE, related_name="transfers"
    )
    from_window = models.ForeignKey(
        Window, verbose_name=_("转出窗口"), on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_window = models.ForeignKey(
        Window, verbose_name=_("转入窗口"), on_delete=models.PROTECT, related_name="transfers_in"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("转办人"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("内部备注"), max_length=500, blank=True, help_text=_("仅值班人员可见"))
    created_at = models.DateTimeField(_("转办时间"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("窗口转办")
        verbose_name_plural = _("窗口转办")

    def __str__(self):
        return f"#{self.conversation_id} {self.from_window} → {self.to_window}"
