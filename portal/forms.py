"""Forms of the public portal: registration and login for citizens, login for staff."""
import re

from django import forms
from django.contrib.auth import authenticate, password_validation
from django.utils.translation import gettext_lazy as _

from .models import User

MOBILE_RE = re.compile(r"^1\d{10}$")


class RegistrationForm(forms.Form):
    phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "tel", "placeholder": "11 位手机号"}),
    )
    password1 = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少 8 位，不能全是数字，不能过于常见。"),
    )
    password2 = forms.CharField(
        label=_("确认密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean_phone(self):
        phone = re.sub(r"[\s-]", "", self.cleaned_data["phone"])
        if not MOBILE_RE.match(phone):
            raise forms.ValidationError(_("请输入正确的中国大陆手机号：11 位数字，以 1 开头。"))
        if User.objects.filter(phone=phone).exists() or User.objects.filter(username=phone).exists():
            raise forms.ValidationError(_("该手机号已注册，请直接登录。"))
        return phone

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("两次输入的密码不一致。"))
        if p1 and cleaned.get("phone"):
            try:
                password_validation.validate_password(p1, User(username=cleaned["phone"], phone=cleaned["phone"]))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginForm(forms.Form):
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
