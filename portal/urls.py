from django.contrib import admin
from django.urls import include, path

from . import rights_views, second_factor, views

portal_patterns = [
    path("", views.home, name="home"),
    path("departments/<int:department_id>/", views.department_detail, name="department"),
    path("windows/<int:window_id>/", views.window_detail, name="window"),
    path("accounts/register/", views.register, name="register"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/login/code/", views.code_login, name="code_login"),
    path("accounts/password/reset/", views.password_reset, name="password_reset"),
    path("accounts/verify-phone/", views.verify_phone, name="verify_phone"),
    path("my/", views.my_consultations, name="my_consultations"),
    path("my/conversations/<int:conversation_id>/consent/", rights_views.consent, name="consent"),
    path("my/data/", rights_views.my_data, name="my_data"),
    path("my/delete/", rights_views.delete_account, name="delete_account"),
    path("my/sms-notices/", views.sms_notices, name="sms_notices"),
    path("accounts/second-factor/", second_factor.second_factor, name="second_factor"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("", include("chat.urls")),
    path("", include("faq.urls")),
    path("", include("cases.urls")),
    path("admin/", admin.site.urls),
]
