"""Shared factories: plain functions that create rows the way the product does."""

import itertools

from departments.models import Department, Window
from portal.actions import create_staff_user, register_citizen
from portal.models import Role
from tests.browser import PASSWORD

_counter = itertools.count(1)


def department(**fields) -> Department:
    n = next(_counter)
    fields.setdefault("name", f"测试厅{n}")
    fields.setdefault("short_name", f"测试{n}")
    return Department.objects.create(**fields)


def window(dept: Department | None = None, **fields) -> Window:
    fields.setdefault("name", f"窗口{next(_counter)}")
    fields.setdefault("duty_statement", "本窗口受理测试业务的政策咨询。")
    return Window.objects.create(department=dept or department(), **fields)


def citizen(phone: str | None = None):
    return register_citizen(phone=phone or f"139{next(_counter):08d}", password=PASSWORD)


def officer(*windows: Window, username: str | None = None):
    user = create_staff_user(
        username=username or f"officer{next(_counter)}",
        password=PASSWORD,
        role=Role.OFFICER,
        display_name=f"值班员{next(_counter)}",
    )
    for w in windows:
        w.officers.add(user)
    return user


def supervisor():
    return create_staff_user(username=f"sup{next(_counter)}", password=PASSWORD, role=Role.SUPERVISOR)
