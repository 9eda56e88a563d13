"""`manage.py check --deploy`: production must not keep its texts in the outbox."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

OUTBOX = "sms.backends.outbox.OutboxBackend"


@register(Tags.security, deploy=True)
def check_sms_backend(app_configs, **kwargs):
    if settings.SMS_BACKEND == OUTBOX:
        return [
            Warning(
                "短信仍使用发件箱后端：验证码和通知不会真正发出。",
                hint="设置 SMS_BACKEND=sms.backends.aliyun.AliyunBackend 或 sms.backends.tencent.TencentBackend，"
                "以及签名和模板编号（见 docs/sms.md）。",
                id="sms.W001",
            )
        ]
    return []
