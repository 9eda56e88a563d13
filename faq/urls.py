from django.urls import path

from . import views

app_name = "faq"

urlpatterns = [
    path("faq/", views.search_page, name="search"),
    path("faq/<int:entry_id>/", views.entry_detail, name="entry"),
    path("faq/suggest/", views.suggest, name="suggest"),
    path("faq/similar/", views.similar, name="similar"),
    path("faq/publish/<int:conversation_id>/", views.publish, name="publish"),
]
