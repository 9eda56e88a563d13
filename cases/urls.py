from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("cases/lookup/", views.lookup, name="lookup"),
    path("desk/cases/", views.desk_list, name="desk_list"),
    path("desk/cases/<int:case_id>/", views.desk_detail, name="desk_detail"),
    path("desk/cases/api/directory/", views.api_directory, name="api_directory"),
    path("desk/cases/api/escalate/", views.api_escalate, name="api_escalate"),
    path("desk/cases/api/referral/", views.api_referral, name="api_referral"),
]
