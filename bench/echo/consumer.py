"""The framework's floor: a bare Channels consumer that relays frames between groups, with no database.

It does what our message path does minus Django's ORM and our rules: parse the JSON frame, send it to the
groups it names through the channel layer, answer the sender with an ack, and forward every group event
to its socket. bench/ws_load.py runs it at the same load as the duty room and reports the ratio.
"""

import json

from channels.generic.websocket import AsyncWebsocketConsumer


class EchoConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        # ?groups=conv.1,user.2 : the groups this socket listens to, like a chat window or a desk.
        query = self.scope["query_string"].decode()
        names = next((part[7:] for part in query.split("&") if part.startswith("groups=")), "")
        self.joined = [name for name in names.split(",") if name][:64]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        frame = json.loads(text_data)
        if frame.get("type") in ("ping", "heartbeat"):
            await self.send(text_data='{"type":"pong"}')
            return
        message = {
            "type": "message",
            "client_id": frame["client_id"],
            "body": frame["body"],
            "conversation": frame.get("conversation"),
        }
        for group in frame["to"]:
            await self.channel_layer.group_send(group, {"type": "relay", "message": message})
        await self.send(text_data=json.dumps({"type": "ack", "client_id": frame["client_id"]}))

    async def relay(self, event):
        await self.send(text_data=json.dumps(event["message"], ensure_ascii=False))
