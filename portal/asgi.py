"""ASGI entry point: Django for HTTP, Channels for the duty room's websockets."""

import gc
import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry loaded above)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from infra import collector  # noqa: E402
from oversight.routing import websocket_urlpatterns as oversight_websockets  # noqa: E402
from portal.origin import OriginValidator  # noqa: E402
from sms import worker as sms_worker  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns + oversight_websockets))),
    }
)

# Texts queued by this process (and retries left by others) are sent from a background thread.
sms_worker.start()

# Everything loaded by now (Django, the apps, URL and template machinery) lives as long as the process.
# Taking it out of the cyclic collector's view keeps full collections short: with 1,000 open sockets in
# one process they stalled it for ~150 ms (200 msg/s, p99 177 ms; after the freeze 41 ms; see
# docs/benchmarks.md).
gc.collect()
gc.freeze()
# And, every 10 s, what survived since (each open socket's objects): at 15,000 sockets per process full
# collections otherwise stalled it for 1.2-2.9 s (infra/collector.py; docs/benchmarks.md, issue 16).
collector.keep_full_collections_short(
    freeze_every=settings.GC_FREEZE_SECONDS, full_every=settings.GC_FULL_COLLECTION_SECONDS
)
