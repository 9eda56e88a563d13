"""ASGI application of the bare echo (bench only): ``daphne bench.echo.asgi:application``.

The channel layer is the one the measured setup uses: REDIS_URL (and REDIS_CHANNEL_LAYER=core|pubsub)
for channels-redis, else the embedded setup's in-memory layer (chat/inmemory_layer.py; it needs no Django app).
"""

import gc
import os

import django
from django.conf import settings

redis_url = os.environ.get("REDIS_URL", "")
# Its own prefix: the echo shares the measured stack's Redis, whose processes may still be sending events
# to groups of the same names (user.N: an officer's presence as the app's last desks close).
if redis_url and os.environ.get("REDIS_CHANNEL_LAYER", "core") == "pubsub":
    layer = {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [redis_url], "prefix": "echo"},
    }
elif redis_url:
    layer = {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [redis_url], "capacity": 1000, "expiry": 60, "prefix": "echo"},
    }
else:
    layer = {"BACKEND": "chat.inmemory_layer.IndexedInMemoryChannelLayer"}

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    SECRET_KEY="bench-echo-only",
    INSTALLED_APPS=["channels"],
    CHANNEL_LAYERS={"default": layer},
    ROOT_URLCONF=__name__,
)
django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from bench.echo.consumer import EchoConsumer  # noqa: E402
from infra import collector  # noqa: E402

urlpatterns = [path("", lambda request: HttpResponse("echo"))]

application = ProtocolTypeRouter(
    {"http": get_asgi_application(), "websocket": URLRouter([path("ws/echo/", EchoConsumer.as_asgi())])}
)

# The same collector policy as the portal's processes (portal/asgi.py), so the floor is comparable.
gc.collect()
gc.freeze()
collector.keep_full_collections_short(
    freeze_every=float(os.environ.get("GC_FREEZE_SECONDS", "10")),
    full_every=float(os.environ.get("GC_FULL_COLLECTION_SECONDS", "600")),
)
