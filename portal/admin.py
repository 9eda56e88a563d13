"""The information center's console (信息中心控制台): the admin site's titles and the accounts."""

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from . import actions, rights_admin  # noqa: F401  (rights_admin registers the written-request console)
from .models import Role, User

admin.site.site_header = _("政务通 · 信息中心控制台")
admin.site.site_title = _("政务通后台")
admin.site.index_title = _("网上值班室管理")
# The lists are wide (windows, officers, figures); at 1280 px the navigation sidebar squeezes them.
admin.site.enable_nav_sidebar = False

# The information center's daily work first, set-up last (Django sorts apps by name).
APP_ORDER = ["oversight", "chat", "cases", "faq", "departments", "portal", "auth"]
_unordered_app_list = admin.site.get_app_list


def _ordered_app_list(request, app_label=None):
    apps = _unordered_app_list(request, app_label)
    return sorted(apps, key=lambda app: APP_ORDER.index(app["app_label"]) if app["app_label"] in APP_ORDER else 99)


admin.site.get_app_list = _ordered_app_list
_password_change = admin.site.password_change


def _password_change_ending_other_sessions(request, extra_context=None):
    # A member of staff changing their own password: audited, and every other session and socket ends.
    response = _password_change(request, extra_context)
    if request.method == "POST" and response.status_code == 302:
        actions.record_password_set(request=request, user=request.user)
    return response


admin.site.password_change = _password_change_ending_other_sessions


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts of citizens, duty officers, the information center and admins.

    A supervisor who is not a superuser manages officers and citizens but cannot grant
    permissions or touch a superuser's account, so the console cannot be used to promote oneself.
    """

    list_display = ("account", "display_name", "role", "phone_masked", "is_active", "is_staff", "date_joined")
    list_display_links = ("account",)
    list_filter = ("role", "is_active", "is_staff", "windows__department", "groups")
    search_fields = ("username", "phone", "display_name", "first_name", "last_name")
    ordering = ("role", "username")
    date_hierarchy = "date_joined"
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("身份"), {"fields": ("role", "display_name", "phone", "first_name", "last_name", "email")}),
        (_("权限"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "role", "display_name", "phone", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")

    @admin.display(description=_("账号"), ordering="username")
    def account(self, user: User) -> str:
        # A citizen's username is the mobile number: mask it like the phone column.
        if user.is_citizen and user.phone and user.username == user.phone:
            return user.masked_phone
        return user.username

    def action_checkbox(self, user: User):
        # Django labels the checkbox with str(user), which for a citizen is the full mobile number.
        attrs = {"class": "action-select", "aria-label": f"选择 {self.account(user)}"}
        return forms.CheckboxInput(attrs, lambda value: False).render(helpers.ACTION_CHECKBOX_NAME, str(user.pk))

    @admin.display(description=_("手机号"), ordering="phone")
    def phone_masked(self, user: User) -> str:
        return user.masked_phone

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "groups", "user_permissions"]
        if obj is not None and obj.pk == request.user.pk and not actions.is_system_admin(request.user):
            readonly.append("role")  # nobody promotes themselves
        return readonly

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        field = super().formfield_for_choice_field(db_field, request, **kwargs)
        if db_field.name == "role" and not actions.is_system_admin(request.user):
            # Only the system administrator makes system administrators (who may set passwords).
            field.choices = [choice for choice in field.choices if choice[0] != Role.ADMIN]
        return field

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # The information center and admins work in this console; officers and citizens never do.
        if not change:
            obj.is_staff = obj.role in (Role.SUPERVISOR, Role.ADMIN)
        before = User.objects.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        actions.record_account_change(request=request, before=before, user=obj)

    def delete_model(self, request, obj):
        actions.end_sessions(obj, code=actions.CLOSE_UNAUTHORIZED)
        actions.record_account_deletion(request=request, user=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            actions.end_sessions(user, code=actions.CLOSE_UNAUTHORIZED)
            actions.record_account_deletion(request=request, user=user)
        super().delete_queryset(request, queryset)

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        if user is not None and not actions.may_set_password(request.user, user):
            raise PermissionDenied("只有系统管理员可以设置他人的密码。")
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302 and response.url != request.get_full_path():
            actions.record_password_set(request=request, user=user)
        return response

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # A supervisor cannot edit groups, yet a new colleague needs the information center's
        # permissions to use this console: a user who becomes a supervisor joins its group.
        user = form.instance
        if user.role == Role.SUPERVISOR and (not change or "role" in form.changed_data):
            actions.make_supervisor_member(user=user)
