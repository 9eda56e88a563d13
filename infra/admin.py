"""Admin helpers shared by the apps."""


class ReadOnlyMixin:
    """Show rows that only the owning app's actions write: no adding, changing or deleting in the admin.

    Mix into a ModelAdmin or an inline before the Django class: `class X(ReadOnlyMixin, admin.ModelAdmin)`.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
