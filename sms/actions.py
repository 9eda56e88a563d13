"""Writes for SMS: queue a text, deliver due texts with back-off, issue and check verification codes.

Texts leave after commit and off the request: `queue_sms` stores a row and wakes the worker
(sms/worker.py) on commit; `deliver_due` claims due rows and calls the backend outside any transaction.
"""

import dataclasses
import datetime
import logging
import re
import secrets
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from infra import ratelimit
from infra.errors import DomainError

from . import texts, worker
from .backends import DeliveryError, get_backend
from .models import NoticeOptOut, Purpose, SmsMessage, SmsStatus, Template, VerificationCode

logger = logging.getLogger("sms")

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
CODE_TTL = datetime.timedelta(minutes=texts.CODE_MINUTES)
CODE_INTERVAL_SECONDS = 60
CODE_MAX_TRIES = 5
# A claimed row is someone's for this long; a process that died while sending leaves it to the next.
CLAIM_LEASE = datetime.timedelta(seconds=60)
# Waits before the 2nd, 3rd, … try; after the last the message is failed.
BACKOFF_SECONDS = [30, 120, 600, 1800]
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
CODE_TEMPLATES = {Template.REGISTER_CODE, Template.RESET_CODE, Template.LOGIN_CODE, Template.VERIFY_CODE}
CODE_TEMPLATE_OF = {
    Purpose.REGISTER: Template.REGISTER_CODE,
    Purpose.RESET: Template.RESET_CODE,
    Purpose.LOGIN: Template.LOGIN_CODE,
    Purpose.VERIFY: Template.VERIFY_CODE,
}


class CodeError(DomainError):
    """A code request or a code the rules refuse; `wait_seconds` says how long until a new one may be asked."""

    def __init__(self, message: str, code: str = "invalid", wait_seconds: int = 0):
        super().__init__(message, code)
        self.wait_seconds = wait_seconds


def mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[7:]}" if len(phone) == 11 else "*" * len(phone)


def normalize_phone(value: str) -> str:
    """Return the 11-digit mainland mobile number in `value` (spaces, dashes and +86 allowed), or raise."""
    phone = re.sub(r"[\s-]", "", value or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not MOBILE_RE.match(phone):
        raise CodeError("请输入正确的中国大陆手机号：11 位数字，以 1 开头。", "phone")
    return phone


# Queue and delivery ------------------------------------------------------------------------------
@transaction.atomic
def queue_sms(*, phone: str, template: str, params: dict | None = None, subject: str = "") -> SmsMessage:
    """Store one text in the outbox; the worker sends it after the surrounding transaction commits."""
    params = texts.clip(params or {})
    message = SmsMessage.objects.create(
        template=template,
        phone=phone,
        masked_phone=mask(phone),
        params=params,
        text=texts.render(template, params),
        subject=subject,
    )
    transaction.on_commit(worker.wake)
    return message


def _claim(*, limit: int, now: datetime.datetime) -> list[SmsMessage]:
    with transaction.atomic():
        due = SmsMessage.objects.filter(
            status__in=(SmsStatus.QUEUED, SmsStatus.SENDING), next_attempt_at__lte=now
        ).order_by("next_attempt_at")
        if connection.features.has_select_for_update_skip_locked:
            # Several daphne processes drain the same outbox: each takes rows nobody else holds.
            due = due.select_for_update(skip_locked=True)
        ids = [message.pk for message in due[:limit]]
        # On SQLite the IMMEDIATE transaction (settings.py) already makes claims one at a time.
        SmsMessage.objects.filter(pk__in=ids).update(
            status=SmsStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE
        )
    return list(SmsMessage.objects.filter(pk__in=ids).order_by("next_attempt_at"))


def _finish(
    message: SmsMessage,
    *,
    status: str,
    answer: str,
    keep_text: bool,
    provider_id: str = "",
    retry_at: datetime.datetime | None = None,
) -> None:
    message.status = status
    message.provider_answer = answer[:1000]
    fields = ["status", "provider_answer", "backend"]
    if status == SmsStatus.QUEUED:
        message.next_attempt_at = retry_at
        fields.append("next_attempt_at")
    else:  # final: the number and any code leave the record
        message.phone = ""
        message.provider_id = provider_id[:64]
        fields += ["phone", "provider_id"]
        if not keep_text:
            message.text = texts.redact(message.template, message.params)
            message.params = {key: ("******" if key == "code" else value) for key, value in message.params.items()}
            fields += ["text", "params"]
        if status == SmsStatus.SENT:
            message.sent_at = timezone.now()
            fields.append("sent_at")
    message.save(update_fields=fields)


def deliver_due(*, limit: int = 20) -> int:
    """Send the outbox rows that are due; return how many were tried. Call outside a transaction."""
    now = timezone.now()
    messages = _claim(limit=limit, now=now)
    if not messages:
        return 0
    try:
        backend = get_backend()
    except Exception as error:  # a missing SDK or a bad setting: visible in the outbox, retried later
        logger.exception("SMS backend %s could not start", settings.SMS_BACKEND)
        backend, backend_error = None, f"短信通道无法启动：{type(error).__name__}: {error}"
    for message in messages:
        message.backend = backend.name if backend else ""
        if message.template in CODE_TEMPLATES and message.created_at + CODE_TTL < now:
            _finish(message, status=SmsStatus.FAILED, answer="验证码已过期，不再发送", keep_text=False)
            continue
        try:
            if backend is None:
                raise DeliveryError(backend_error, retry=True)
            delivery = backend.send(
                phone=message.phone, template=message.template, params=message.params, text=message.text
            )
        except DeliveryError as error:
            final = not error.retry or message.attempts >= MAX_ATTEMPTS
            logger.warning(
                "SMS %s to %s failed (try %s): %s", message.pk, message.masked_phone, message.attempts, error.answer
            )
            retry_at = None if final else now + datetime.timedelta(seconds=BACKOFF_SECONDS[message.attempts - 1])
            _finish(
                message,
                status=SmsStatus.FAILED if final else SmsStatus.QUEUED,
                answer=error.answer,
                keep_text=bool(backend and backend.keeps_text),
                retry_at=retry_at,
            )
        else:
            _finish(
                message,
                status=SmsStatus.SENT,
                answer=delivery.answer,
                provider_id=delivery.provider_id,
                keep_text=backend.keeps_text,
            )
    return len(messages)


def next_due_at() -> datetime.datetime | None:
    """Return when the earliest unfinished text is due, for the worker's sleep."""
    return (
        SmsMessage.objects.filter(status__in=(SmsStatus.QUEUED, SmsStatus.SENDING))
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


# Verification codes ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CodeSent:
    masked_phone: str
    wait_seconds: int


def _digest(phone: str, purpose: str, code: str) -> str:
    return salted_hmac("sms.VerificationCode", f"{phone}|{purpose}|{code}", algorithm="sha256").hexdigest()


def _day_limit_error(scope: str, message: str) -> CodeError:
    window = settings.RATE_LIMITS[scope][1]
    wait = int(window - time.time() % window)
    hours = max(1, -(-wait // 3600))
    return CodeError(f"{message}请在 {hours} 小时后再试。", "limit", wait_seconds=wait)


def request_code(*, phone: str, purpose: str, address: str, has_account: bool) -> CodeSent:
    """Issue a code for `phone` and queue its SMS; the caller shows the same answer whatever `has_account` is.

    Registration of a number that has an account sends "已注册，可直接登录或找回密码" instead of a code;
    a reset or login code for a number without a citizen account sends nothing.
    """
    now = timezone.now()
    last = (
        VerificationCode.objects.filter(phone=phone)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is not None and (now - last).total_seconds() < CODE_INTERVAL_SECONDS:
        wait = CODE_INTERVAL_SECONDS - int((now - last).total_seconds())
        raise CodeError(f"验证码已发送，请 {wait} 秒后再获取。", "wait", wait_seconds=wait)
    if not ratelimit.hit("sms_code_address", address):
        raise _day_limit_error("sms_code_address", "这台设备今天获取验证码的次数已达上限（10 次）。")
    if not ratelimit.hit("sms_code_phone", phone):
        raise _day_limit_error("sms_code_phone", "这个手机号今天获取验证码的次数已达上限（10 次）。")
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        VerificationCode.objects.create(
            phone=phone, purpose=purpose, code_hash=_digest(phone, purpose, code), expires_at=now + CODE_TTL
        )
        if purpose == Purpose.REGISTER and has_account:
            queue_sms(phone=phone, template=Template.ALREADY_REGISTERED)
        elif purpose == Purpose.REGISTER or has_account:
            queue_sms(phone=phone, template=CODE_TEMPLATE_OF[purpose], params={"code": code})
    return CodeSent(masked_phone=mask(phone), wait_seconds=CODE_INTERVAL_SECONDS)


def use_code(*, phone: str, purpose: str, code: str) -> None:
    """Accept the latest code of `phone` for `purpose` once, or raise CodeError with what to do next.

    Call outside a transaction: a wrong try is counted even though the caller's request fails.
    """
    code = (code or "").strip()
    if not re.fullmatch(r"\d{6}", code):
        raise CodeError("请输入短信中的 6 位数字验证码。", "format")
    failure = None
    with transaction.atomic():
        row = (
            VerificationCode.objects.select_for_update()
            .filter(phone=phone, purpose=purpose)
            .order_by("-created_at")
            .first()
        )
        now = timezone.now()
        if row is None or row.used_at is not None:
            failure = CodeError("请先获取验证码。", "missing")
        elif row.tries >= CODE_MAX_TRIES:
            failure = CodeError("验证码错误次数过多，已失效，请重新获取。", "burnt")
        elif row.expires_at <= now:
            failure = CodeError(f"验证码已过期（{texts.CODE_MINUTES} 分钟内有效），请重新获取。", "expired")
        elif not constant_time_compare(row.code_hash, _digest(phone, purpose, code)):
            row.tries += 1
            row.save(update_fields=["tries"])
            left = CODE_MAX_TRIES - row.tries
            failure = CodeError(
                f"验证码不正确，还可以再试 {left} 次。" if left else "验证码错误次数过多，已失效，请重新获取。",
                "wrong" if left else "burnt",
            )
        else:
            row.used_at = now
            row.save(update_fields=["used_at"])
    if failure is not None:
        raise failure


@transaction.atomic
def forget_person(*, phone: str, subjects: list[str]) -> int:
    """Delete every text and code of a person (account deletion under PIPL art. 47); return how many texts."""
    from . import selectors

    deleted, _ = selectors.messages_of(phone=phone, subjects=subjects).delete()
    if phone:
        VerificationCode.objects.filter(phone=phone).delete()
        NoticeOptOut.objects.filter(user__phone=phone).delete()
    return deleted
