from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/oversight/wallboard/", consumers.WallboardConsumer.as_asgi()),
]
