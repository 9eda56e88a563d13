"""Cells for spreadsheets that staff open: no formulas from citizens, no characters that break XLSX.

A citizen's message `=HYPERLINK("http://evil.example","x")` must not become a live formula in the
information center's Excel, and a control character (U+0001) must not make the export fail. Every
XLSX/CSV export passes its cells through `safe_cell`; every import-export resource inherits
`SafeExportMixin` (tests/security/test_exports.py walks them all).
"""

import re

from import_export import resources

# Characters that start a formula in Excel, LibreOffice or WPS (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 (and so XLSX) cannot hold: C0 controls other than tab/newline/CR, lone surrogates,
# U+FFFE/U+FFFF.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def safe_cell(value):
    """Return the value ready for a spreadsheet cell: text that would start a formula gets a leading
    apostrophe, characters a workbook cannot hold are removed; numbers, dates and None pass unchanged."""
    if not isinstance(value, str):
        return value
    value = _ILLEGAL.sub("", value)
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values) -> list:
    return [safe_cell(value) for value in values]


class SafeExportMixin:
    """For import-export resources: every exported cell and header goes through safe_cell."""

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        # Widgets render most values as text already; render them here when they are not.
        return safe_cell(value)

    def get_export_headers(self, selected_fields=None):
        return safe_row(super().get_export_headers(selected_fields))


class SafeModelResource(SafeExportMixin, resources.ModelResource):
    """The base of every ModelResource in the project."""


class SafeResource(SafeExportMixin, resources.Resource):
    """The base of every plain (non-model) Resource in the project."""
