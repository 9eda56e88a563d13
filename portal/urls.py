from django.contrib import admin
from django.urls import include, path

from . import second_factor, views


portal_patterns = [
    path("", views.home, name="home"),
    path("departments/<int:department_id>/", views.department_detail, name="department"),
    path("windows/<int:window_id>/", views.window_detail, name="window"),
    path("accounts/register/", views.register, name="register"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("my/", views.my_consultations, name="my_consultations"),
    path("accounts/second-factor/", second_factor.second_factor, name="second_factor"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("", include("chat.urls")),
    path("", include("faq.urls")),
    path("", include("cases.urls")),
    path("admin/", admin.site.urls),
]
