"""The wording of every text, as filed with the providers (docs/sms.md), and its rendering for the outbox.

Aliyun templates name their variables (${code}); Tencent numbers them ({1}, {2}) in the order of PARAMS.
"""

from string import Template as _Template

from .models import Template

SIGN = "政务通"
CODE_MINUTES = 5

TEXTS = {
    Template.REGISTER_CODE: "您正在注册政务通，验证码为${code}，5分钟内有效。如非本人操作，请忽略本短信。",
    Template.ALREADY_REGISTERED: "您的手机号已注册政务通，可直接登录或找回密码。如非本人操作，请忽略本短信。",
    Template.RESET_CODE: "您正在找回政务通密码，验证码为${code}，5分钟内有效。请勿将验证码告诉他人。",
    Template.LOGIN_CODE: "您正在登录政务通，验证码为${code}，5分钟内有效。请勿将验证码告诉他人。",
    Template.VERIFY_CODE: "您正在验证政务通账户的手机号，验证码为${code}，5分钟内有效。请勿将验证码告诉他人。",
    Template.NOTICE_ANSWERED: "您在${unit}的留言已答复，请到“我的咨询”查看：${link}",
    Template.NOTICE_CASE: "您的转办件${number}${state}，请到“我的咨询”查看：${link}",
}

# The order of the variables, for providers that number them.
PARAMS = {
    Template.REGISTER_CODE: ["code"],
    Template.ALREADY_REGISTERED: [],
    Template.RESET_CODE: ["code"],
    Template.LOGIN_CODE: ["code"],
    Template.VERIFY_CODE: ["code"],
    Template.NOTICE_ANSWERED: ["unit", "link"],
    Template.NOTICE_CASE: ["number", "state", "link"],
}

# A text of up to 70 characters (sign included) is billed as one; the notices stay within it for a
# unit name of up to 15 characters and a site address of up to 26 (docs/sms.md, Costs).
# Aliyun refuses a variable longer than 35 characters (a link: 150); longer values are cut.
PARAM_MAX = {"link": 150}
PARAM_DEFAULT_MAX = 35


def clip(params: dict) -> dict:
    """Cut each value to the provider's limit for its kind."""
    return {key: str(value)[: PARAM_MAX.get(key, PARAM_DEFAULT_MAX)] for key, value in params.items()}


def render(template: str, params: dict) -> str:
    """Return the text as the citizen reads it, sign included: 【政务通】您正在注册政务通…"""
    return f"【{SIGN}】" + _Template(TEXTS[template]).safe_substitute(params)


def redact(template: str, params: dict) -> str:
    """Return the text with any code hidden, for the record of a message a provider delivered."""
    return render(template, {**params, **({"code": "******"} if "code" in params else {})})
