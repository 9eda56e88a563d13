from django import forms

from .selectors import ANSWER_MAX, QUESTION_MAX


class SearchForm(forms.Form):
    q = forms.CharField(label="您的问题", max_length=200, required=False, strip=True)


class PublishForm(forms.Form):
    question = forms.CharField(
        label="问题",
        max_length=QUESTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写问题。", "max_length": f"问题不能超过 {QUESTION_MAX} 个字。"},
    )
    answer = forms.CharField(
        label="答复",
        max_length=ANSWER_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": "请填写答复。", "max_length": f"答复不能超过 {ANSWER_MAX} 个字。"},
    )
    confirm_personal_data = forms.BooleanField(label="我已核对，标出的疑似姓名不是个人信息（或已删改）", required=False)
