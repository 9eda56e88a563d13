"""Formatting of assessment figures in templates."""

from django import template

from oversight.figures import DEFINITIONS_BY_KEY

register = template.Library()


@register.filter
def figure(value, kind: str) -> str:
    """Format a figure by its kind: rates as percent, hours and scores with two decimals, "—" when undefined."""
    if value is None or value == "":
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind in ("hours", "score"):
        return f"{value:.2f}"
    if kind == "seconds":
        return f"{value:.0f}"
    return f"{value:,}"


@register.filter
def change(value, kind: str) -> str:
    """Format a month-on-month change (环比): rates in percentage points, others as they are, "—" when undefined."""
    if value is None or value == "":
        return "—"
    amount = value * 100 if kind == "rate" else value
    if round(amount, 1) == 0:
        return "持平"
    return f"{'↑' if amount > 0 else '↓'}{abs(amount):.1f}"


@register.filter
def definition_label(key: str) -> str:
    """Return the Chinese label of a figure's key."""
    definition = DEFINITIONS_BY_KEY.get(key)
    return definition.label if definition else key
