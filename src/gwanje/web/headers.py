"""Response headers every answer gets: JSON is never stored by a browser or a proxy.

API answers carry personal data (positions, names, plates, phone numbers on the rejected shelf):
``Cache-Control: no-store`` on every JSON response keeps them out of shared and disk caches. A pure
ASGI middleware, so that streamed and file responses pass through untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


class NoStoreJSON:
    """Adds ``Cache-Control: no-store`` to JSON responses that do not say otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                names = {name.lower(): value for name, value in headers}
                if _is_json(names.get(b"content-type", b"")) and b"cache-control" not in names:
                    message = {**message, "headers": [*headers, (b"cache-control", b"no-store")]}
            await send(message)

        await self.app(scope, receive, send_no_store)
