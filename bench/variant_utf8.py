"""A variant of the portal for measuring a proposal before it is made (bench only).

    daphne bench.variant_utf8:application   # JSON frames as UTF-8 text, not \\uXXXX escapes

Channels' ``AsyncJsonWebsocketConsumer.encode_json`` is ``json.dumps(content)``, which writes every
Chinese character as a six-byte escape. The proposal: ``ensure_ascii=False`` in chat/consumers.py.
"""
import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from chat import consumers  # noqa: E402


@classmethod
async def encode_json(cls, content):
    return json.dumps(content, ensure_ascii=False)


consumers.BaseConsumer.encode_json = encode_json

from portal.asgi import application  # noqa: E402,F401
