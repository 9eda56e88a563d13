"""Reads for departments and windows."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from .models import Department, Window


def active_windows() -> QuerySet[Window]:
    return Window.objects.filter(is_active=True, department__is_active=True).select_related("department")


def directory() -> QuerySet[Department]:
    """Return the active departments with their active windows, in display order."""
    return Department.objects.filter(is_active=True).prefetch_related(
        Prefetch("windows", queryset=Window.objects.filter(is_active=True).order_by("ordering", "id"))
    )


def get_department(department_id: int) -> Department:
    try:
        return directory().get(pk=department_id)
    except Department.DoesNotExist:
        raise Http404("没有找到这个部门") from None


def get_window(window_id: int) -> Window:
    try:
        return active_windows().get(pk=window_id)
    except Window.DoesNotExist:
        raise Http404("没有找到这个窗口") from None


def windows_of_officer(officer) -> QuerySet[Window]:
    return active_windows().filter(officers=officer)
