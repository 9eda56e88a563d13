from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("windows/<int:window_id>/chat/", views.start_chat, name="start"),
    path("my/conversations/<int:conversation_id>/", views.conversation_detail, name="conversation"),
    path("desk/", views.desk, name="desk"),
]
