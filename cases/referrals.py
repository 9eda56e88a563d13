"""Referral (推荐联系方式): the contact card of a unit of the directory, as the officer sends it into a chat."""

from departments.models import Department, Window


def _hours(department: Department, window: Window | None) -> str:
    if window is not None:
        return f"{window.name} {window.duty_hours}"
    first = department.windows.filter(is_active=True).order_by("ordering", "id").first()
    return first.duty_hours if first is not None else ""


def contact_card(department: Department, window: Window | None = None) -> str:
    """Compose the plain-text contact card (name, phone, address, hours, website); empty lines are left out."""
    name = department.name if window is None else f"{department.name} · {window.name}"
    lines = [f"【联系方式】{name}"]
    for label, value in (
        ("电话", department.contact_phone),
        ("地址", department.address),
        ("办公时间", _hours(department, window)),
        ("网站", department.website),
    ):
        if value:
            lines.append(f"{label}：{value}")
    lines.append("您可以直接联系该单位；如需在线咨询，也可在政务通首页选择该部门的窗口。")
    return "\n".join(lines)
