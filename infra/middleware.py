"""Refuse malformed input at the door, for every view at once."""

from django.http import HttpResponse, JsonResponse

from . import untrusted


class RejectMalformedInput:
    """Answer 400 with a Chinese message to parameters or JSON bodies no view could take.

    A NUL character in a search box fails PostgreSQL with a 500; a lone surrogate or an over-deep or
    over-large JSON value fails wherever it is encoded. Checked here once, no view needs to remember.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            self.check(request)
        except untrusted.MalformedInput as error:
            if _wants_json(request):
                return JsonResponse({"error": error.message}, status=400, json_dumps_params={"ensure_ascii": False})
            return HttpResponse(
                f'<!doctype html><html lang="zh-hans"><meta charset="utf-8"><title>请求有误</title>'
                f'<p>{error.message}</p><p><a href="javascript:history.back()">返回上一页</a></p></html>',
                status=400,
                content_type="text/html; charset=utf-8",
            )
        return self.get_response(request)

    @staticmethod
    def check(request) -> None:
        for key, values in request.GET.lists():
            untrusted.check_text(key)
            for value in values:
                untrusted.check_text(value)
        content_type = request.content_type or ""
        if request.method in ("POST", "PUT", "PATCH"):
            if content_type == "application/json":
                if request.body:
                    try:
                        untrusted.parse_json(request.body)
                    except untrusted.NotJson:
                        pass  # the view answers that in its own words
            elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                for key, values in request.POST.lists():
                    untrusted.check_text(key)
                    for value in values:
                        untrusted.check_text(value)


def _wants_json(request) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")
