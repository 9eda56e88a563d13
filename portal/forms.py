"""Forms of the public portal: registration, 忘记密码 and code login for citizens, password login for all."""

from django import forms
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.translation import gettext_lazy as _

from sms.actions import CodeError, normalize_phone

from .models import User

CODE_STATUS_ID = "code-status"


class DescribedForm(forms.Form):
    """Point each field's aria-describedby at the help and error elements that the page really shows.

    templates/portal/_form.html gives help text the id `<field id>_helptext`, a field's errors
    `<field id>_error` and the form's own errors `form-errors`.
    """

    extra_describedby: dict[str, list[str]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.describe()

    def add_error(self, field, error):
        super().add_error(field, error)
        self.describe()

    def full_clean(self):
        super().full_clean()
        self.describe()

    def describe(self):
        errors = getattr(self, "_errors", None) or {}
        for name, field in self.fields.items():
            auto_id = self[name].auto_id
            ids = [f"{auto_id}_helptext"] if field.help_text else []
            if name in errors:
                ids.append(f"{auto_id}_error")
            if errors.get(NON_FIELD_ERRORS):
                ids.append("form-errors")
            ids += self.extra_describedby.get(name, [])
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)
            else:
                field.widget.attrs.pop("aria-describedby", None)


def phone_field():
    return forms.CharField(
        label=_("手机号"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "tel", "placeholder": "11 位手机号"}),
    )


def code_field():
    return forms.CharField(
        label=_("短信验证码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "placeholder": "6 位数字",
                "pattern": "[0-9]*",
            }
        ),
        error_messages={"min_length": _("请输入短信中的 6 位数字验证码。"), "required": _("请输入短信验证码。")},
    )


def clean_phone_value(value: str) -> str:
    try:
        return normalize_phone(value)
    except CodeError as error:
        raise forms.ValidationError(error.message) from error


class CodeForm(DescribedForm):
    """A form with a number and a code: the page's 获取验证码 button sends only the number."""

    extra_describedby = {"phone": [CODE_STATUS_ID]}

    def clean_phone(self):
        return clean_phone_value(self.cleaned_data["phone"])

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError(_("请输入短信中的 6 位数字验证码。"))
        return code


# Django's Chinese catalogue lacks some validator messages (the minimum length shows in English).
PASSWORD_MESSAGES = {
    "password_too_short": _("密码太短，至少需要 8 位。"),
    "password_too_similar": _("密码与手机号太相似。"),
    "password_too_common": _("这个密码太常见了，请换一个不容易被猜到的。"),
    "password_entirely_numeric": _("密码不能全是数字。"),
}


class NewPasswordMixin(forms.Form):
    password1 = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少 8 位，不能全是数字，不能过于常见。"),
    )
    password2 = forms.CharField(
        label=_("确认密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("两次输入的密码不一致。"))
        if p1 and cleaned.get("phone"):
            try:
                password_validation.validate_password(p1, User(username=cleaned["phone"], phone=cleaned["phone"]))
            except forms.ValidationError as error:
                self.add_error(
                    "password1", [PASSWORD_MESSAGES.get(item.code, item.messages[0]) for item in error.error_list]
                )
        return cleaned


class RegistrationForm(NewPasswordMixin, CodeForm):
    phone = phone_field()
    code = code_field()
    field_order = ["phone", "code", "password1", "password2"]


class PasswordResetForm(NewPasswordMixin, CodeForm):
    phone = phone_field()
    code = code_field()
    field_order = ["phone", "code", "password1", "password2"]

    password1 = forms.CharField(
        label=_("新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=NewPasswordMixin.base_fields["password1"].help_text,
    )
    password2 = forms.CharField(
        label=_("确认新密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


class CodeLoginForm(CodeForm):
    phone = phone_field()
    code = code_field()


class VerifyPhoneForm(DescribedForm):
    code = code_field()
    extra_describedby = {"code": [CODE_STATUS_ID]}


class LoginForm(DescribedForm):
    username = forms.CharField(
        label=_("手机号或账号"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        label=_("密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        username, password = cleaned.get("username"), cleaned.get("password")
        if username and password:
            self.user = authenticate(self.request, username=username.strip(), password=password)
            if self.user is None:
                raise forms.ValidationError(_("手机号（账号）或密码不正确。"))
        return cleaned
