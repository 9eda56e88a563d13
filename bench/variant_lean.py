"""A variant of the portal for measuring a proposal before it is made (bench only).

    daphne bench.variant_lean:application   # one database call per chat message frame
"""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()


def _lean_application():
    """Return the portal with message frames handled in one database call instead of two or three.

    Today a citizen's message frame costs two database_sync_to_async calls (the frame rate limit, then
    send_message) and an officer's three (rate limit, access_conversation, send_message); each call is a
    hop to the database thread with its own connection health check. Here the frame limit, the access
    check and send_message run in one call. Behaviour is unchanged: same limits, same checks, same ack.
    """
    from channels.db import database_sync_to_async as one_call
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from chat import actions, consumers, selectors
    from chat.actions import ChatError
    from portal import ratelimit

    original = consumers.BaseConsumer.receive_json

    def message(user, conversation, frame):
        if not ratelimit.hit("ws_frame", str(user.pk)):
            return None
        if conversation is None:
            conversation = selectors.access_conversation(user, consumers._int(frame, "conversation", minimum=1))
        return actions.send_message(conversation=conversation, sender=user, body=frame.get("body"),
                                    client_id=frame.get("client_id"))[0]

    async def receive_json(self, frame, **kwargs):
        if not (isinstance(frame, dict) and frame.get("type") == "message"):
            return await original(self, frame, **kwargs)
        try:
            sent = await one_call(message)(self.user, getattr(self, "conversation", None), frame)
        except ChatError as error:
            return await self.send_error(error.code, error.message, ref=frame.get("client_id"))
        except PermissionDenied as error:
            return await self.send_error("forbidden", str(error) or "您无权进行这个操作。")
        except Http404 as error:
            return await self.send_error("not_found", str(error) or "没有找到。")
        if sent is None:
            return await self.send_error("rate_limited", "操作太频繁了，请稍候再试。")
        await self.send_json({"type": "ack", "conversation": sent.conversation_id, "client_id": sent.client_id,
                              "seq": sent.seq})

    consumers.BaseConsumer.receive_json = receive_json
    from portal.asgi import application

    return application


application = _lean_application()
