"""SMS: the outbox of every text sent (短信发送记录), verification codes (验证码) and notice opt-outs."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Template(models.TextChoices):
    """The texts filed with the providers; the wording lives in sms/texts.py."""

    REGISTER_CODE = "register_code", _("注册验证码")
    ALREADY_REGISTERED = "already_registered", _("已注册提醒")
    RESET_CODE = "reset_code", _("找回密码验证码")
    LOGIN_CODE = "login_code", _("登录验证码")
    VERIFY_CODE = "verify_code", _("验证手机号验证码")
    NOTICE_ANSWERED = "notice_answered", _("留言已答复通知")
    NOTICE_CASE = "notice_case", _("转办件进展通知")


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class SmsMessage(models.Model):
    """One text message in the outbox (短信发送记录): queued, retried with back-off, then sent or failed.

    The full number is kept only until the message is final; the admin shows the masked one.
    """

    template = models.CharField(_("模板"), max_length=32, choices=Template.choices)
    phone = models.CharField(_("手机号"), max_length=11, blank=True, help_text=_("发送完成后清空"))
    masked_phone = models.CharField(_("手机号"), max_length=11)
    params = models.JSONField(_("模板参数"), default=dict, blank=True)
    text = models.TextField(_("短信内容"), blank=True, help_text=_("验证码在发送后隐去（发件箱后端除外）"))
    subject = models.CharField(
        _("关联对象"),
        max_length=40,
        blank=True,
        db_index=True,
        help_text=_("通知所属的咨询或转办件，用于每小时至多一条"),
    )
    status = models.CharField(_("状态"), max_length=16, choices=SmsStatus.choices, default=SmsStatus.QUEUED)
    backend = models.CharField(_("发送通道"), max_length=16, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    provider_answer = models.TextField(_("服务商答复"), blank=True)
    provider_id = models.CharField(_("服务商流水号"), max_length=64, blank=True)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), default=timezone.now)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("短信发送记录")
        verbose_name_plural = _("短信发送记录")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="sms_due")]

    def __str__(self):
        return f"{self.get_template_display()} → {self.masked_phone}"


class Purpose(models.TextChoices):
    REGISTER = "register", _("注册")
    RESET = "reset", _("找回密码")
    LOGIN = "login", _("验证码登录")
    VERIFY = "verify", _("验证手机号")


class VerificationCode(models.Model):
    """A 6-digit SMS code (验证码) for one number and one purpose; only its keyed digest is stored."""

    phone = models.CharField(_("手机号"), max_length=11, db_index=True)
    purpose = models.CharField(_("用途"), max_length=16, choices=Purpose.choices)
    code_hash = models.CharField(_("验证码摘要"), max_length=128)
    expires_at = models.DateTimeField(_("有效期至"))
    tries = models.PositiveSmallIntegerField(_("错误次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("发送时间"), default=timezone.now)

    class Meta:
        verbose_name = _("验证码")
        verbose_name_plural = _("验证码")
        indexes = [models.Index(fields=["phone", "-created_at"], name="sms_code_recent")]

    def __str__(self):
        return f"{self.get_purpose_display()} {self.phone[:3]}****{self.phone[7:]}"


class NoticeOptOut(models.Model):
    """A citizen who switched SMS notices off in 我的咨询."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("市民"), on_delete=models.CASCADE, related_name="sms_opt_out"
    )
    created_at = models.DateTimeField(_("关闭时间"), default=timezone.now)

    class Meta:
        verbose_name = _("关闭短信通知")
        verbose_name_plural = _("关闭短信通知")
