"""Verification codes: 6 digits, 5 minutes, hashed, one a minute, ten a day, five wrong tries, no enumeration."""

import datetime

import pytest
from django.utils import timezone

from sms.actions import CodeError, normalize_phone, request_code, use_code
from sms.models import Purpose, SmsMessage, Template, VerificationCode

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


def ask(phone=PHONE, purpose=Purpose.REGISTER, address="10.0.0.1", has_account=False):
    return request_code(phone=phone, purpose=purpose, address=address, has_account=has_account)


def sent_code(phone=PHONE) -> str:
    return SmsMessage.objects.filter(phone=phone).latest("created_at").params["code"]


def age_codes(phone=PHONE, seconds=61):
    """Pretend the codes of `phone` were asked `seconds` earlier."""
    for row in VerificationCode.objects.filter(phone=phone):
        row.created_at -= datetime.timedelta(seconds=seconds)
        row.expires_at -= datetime.timedelta(seconds=seconds)
        row.save()


def test_code_is_six_digits_sent_by_sms_and_stored_only_as_a_digest():
    sent = ask()
    assert sent.masked_phone == "138****8000" and sent.wait_seconds == 60
    code = sent_code()
    assert len(code) == 6 and code.isdigit()
    message = SmsMessage.objects.get(phone=PHONE)
    assert message.template == Template.REGISTER_CODE and code in message.text and message.text.startswith("【政务通】")
    row = VerificationCode.objects.get(phone=PHONE)
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert abs((row.expires_at - timezone.now()).total_seconds() - 300) < 5
    use_code(phone=PHONE, purpose=Purpose.REGISTER, code=code)
    with pytest.raises(CodeError, match="请先获取验证码"):  # used once
        use_code(phone=PHONE, purpose=Purpose.REGISTER, code=code)


def test_one_code_a_minute_per_number_with_the_wait_in_the_message():
    ask()
    with pytest.raises(CodeError, match=r"请 \d+ 秒后再获取") as refused:
        ask(purpose=Purpose.LOGIN, has_account=True)
    assert 55 <= refused.value.wait_seconds <= 60
    assert SmsMessage.objects.count() == 1
    age_codes()
    ask()
    assert SmsMessage.objects.count() == 2


def test_ten_codes_a_day_per_number():
    for n in range(10):
        ask(address=f"10.0.1.{n}")
        age_codes()
    with pytest.raises(
        CodeError, match="这个手机号今天获取验证码的次数已达上限（10 次）。请在 \\d+ 小时后再试"
    ) as refused:
        ask(address="10.0.2.1")
    assert refused.value.code == "limit"
    assert SmsMessage.objects.count() == 10


def test_ten_codes_a_day_per_address():
    for n in range(10):
        ask(phone=f"1390000{n:04d}")
    with pytest.raises(CodeError, match="这台设备今天获取验证码的次数已达上限"):
        ask(phone="13700000000")
    ask(phone="13700000000", address="10.0.0.2")  # another address still may


def test_expired_code_is_refused():
    ask()
    code = sent_code()
    VerificationCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(CodeError, match="验证码已过期（5 分钟内有效），请重新获取"):
        use_code(phone=PHONE, purpose=Purpose.REGISTER, code=code)


def test_five_wrong_tries_burn_the_code():
    ask()
    code = sent_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeError, match=f"还可以再试 {left} 次"):
            use_code(phone=PHONE, purpose=Purpose.REGISTER, code=wrong)
    with pytest.raises(CodeError, match="错误次数过多，已失效"):
        use_code(phone=PHONE, purpose=Purpose.REGISTER, code=wrong)
    with pytest.raises(CodeError, match="错误次数过多，已失效"):
        use_code(phone=PHONE, purpose=Purpose.REGISTER, code=code)


def test_code_of_one_purpose_does_not_open_another():
    ask(purpose=Purpose.LOGIN, has_account=True)
    with pytest.raises(CodeError, match="请先获取验证码"):
        use_code(phone=PHONE, purpose=Purpose.RESET, code=sent_code())


@pytest.mark.parametrize("value", ["12345", "23800138000", "1380013800a", "12800138000", ""])
def test_not_a_mainland_mobile(value):
    with pytest.raises(CodeError, match="正确的中国大陆手机号"):
        normalize_phone(value)


def test_number_written_with_spaces_or_country_code():
    assert normalize_phone("+86 138-0013-8000") == PHONE


def test_registration_of_a_number_with_an_account_gets_a_notice_instead_of_a_code():
    first = ask(has_account=True)
    message = SmsMessage.objects.get(phone=PHONE)
    assert message.template == Template.ALREADY_REGISTERED
    assert "已注册政务通，可直接登录或找回密码" in message.text and message.params == {}
    age_codes()
    second = ask(phone="13900139000", has_account=False)
    assert (first.wait_seconds, len(first.masked_phone)) == (second.wait_seconds, len(second.masked_phone))


def test_reset_or_login_code_for_a_number_without_account_sends_nothing():
    ask(purpose=Purpose.RESET, has_account=False)
    assert not SmsMessage.objects.exists()
    # …and the 60-second rule still applies, so the page answers the same as for an account.
    with pytest.raises(CodeError, match="秒后再获取"):
        ask(purpose=Purpose.LOGIN, has_account=False)
