"""Small charts drawn as inline SVG on the server: no JavaScript, no CDN, printable.

Every chart scales to its container through its viewBox and carries a <title> per bar for screen
readers and hover.
"""

from django.utils.html import format_html
from django.utils.safestring import mark_safe

BAR = "#417690"
BAR_ALT = "#79aec8"
TEXT = "#333"
GRID = "#ddd"


def _n(number: float) -> str:
    return f"{number:.1f}"


def _truncate(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(
    items: list[tuple[str, float | None]],
    *,
    title: str,
    unit: str = "",
    percent: bool = False,
    label_chars: int = 8,
    width: int = 480,
    max_value: float | None = None,
) -> str:
    """Return a horizontal bar chart: one labelled bar per item, its value printed at the end."""
    row, top, label_width, value_width = 24, 8, 14 * label_chars + 8, 70
    height = top * 2 + row * max(len(items), 1)
    values = [value or 0 for _, value in items]
    scale_max = max_value or max(values + [0]) or 1
    plot = width - label_width - value_width
    parts = [
        format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg" '
            'font-family="sans-serif" font-size="13">',
            width,
            height,
            title,
        )
    ]
    if not items:
        parts.append(format_html('<text x="8" y="28" fill="#777">{}</text>', "暂无数据"))
    for index, (label, value) in enumerate(items):
        y = top + index * row
        length = 0 if not value else max(plot * value / scale_max, 1)
        shown = "—" if value is None else (f"{value:.1%}" if percent else f"{value:g}{unit}")
        parts.append(
            format_html(
                "<g><title>{}：{}</title>"
                '<text x="{}" y="{}" text-anchor="end" fill="{}">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" rx="2"></rect>'
                '<text x="{}" y="{}" fill="{}">{}</text></g>',
                label,
                shown,
                label_width - 6,
                y + 16,
                TEXT,
                _truncate(label, label_chars),
                label_width,
                y + 4,
                _n(length),
                row - 8,
                BAR if index % 2 == 0 else BAR_ALT,
                _n(label_width + length + 4),
                y + 16,
                TEXT,
                shown,
            )
        )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(str(part) for part in parts))


def column_chart(
    items: list[tuple[str, int]], *, title: str, highlight: set[str] | None = None, width: int = 760, height: int = 220
) -> str:
    """Return a vertical bar chart over days: a column per item, labels every few columns, a max gridline."""
    highlight = highlight or set()
    left, bottom, top = 40, 28, 14
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max([value for _, value in items] + [0]) or 1
    step = plot_w / max(len(items), 1)
    parts = [
        format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg" '
            'font-family="sans-serif" font-size="12">',
            width,
            height,
            title,
        ),
        format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"></line>', left, top, width - 8, top, GRID),
        format_html('<text x="{}" y="{}" text-anchor="end" fill="#777">{}</text>', left - 4, top + 4, peak),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"></line>',
            left,
            top + plot_h,
            width - 8,
            top + plot_h,
        ),
    ]
    label_every = max(1, round(len(items) / 10))
    for index, (label, value) in enumerate(items):
        bar_h = plot_h * value / peak
        x = left + index * step + step * 0.15
        color = "#c0392b" if label in highlight else BAR
        parts.append(
            format_html(
                '<g><title>{}：{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect></g>',
                label,
                value,
                _n(x),
                _n(top + plot_h - bar_h),
                _n(step * 0.7),
                _n(bar_h),
                color,
            )
        )
        if index % label_every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>',
                    _n(x + step * 0.35),
                    height - 8,
                    TEXT,
                    label,
                )
            )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(str(part) for part in parts))
