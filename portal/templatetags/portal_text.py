"""Template filters for text that people wrote or the system composed."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()

# Site paths that system messages mention, e.g. the case lookup page in an escalation message.
SITE_PATH = re.compile(r"(?<![\w/.])(/(?:cases|faq|my|windows)/[\w\-/]*(?:\?[\w\-=&%]*)?)")


@register.filter(is_safe=True, needs_autoescape=True)
def urlize_paths(text, autoescape=True):
    """Escape text and turn the site's own paths in it (/cases/lookup/ …) into links."""
    escaped = escape(text) if autoescape else str(text)
    return mark_safe(SITE_PATH.sub(r'<a href="\1">\1</a>', escaped))


@register.simple_tag
def retention_days() -> int:
    """Return how many days consultation records are kept (TRANSCRIPT_RETENTION_DAYS)."""
    from django.conf import settings

    return int(getattr(settings, "TRANSCRIPT_RETENTION_DAYS", 730))
