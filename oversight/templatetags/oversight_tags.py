"""Formatting of assessment figures in templates."""
from django import template

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
