"""Plain ASGI middleware: the request body size limit (no per-request overhead beyond a counter),
and, for a server without API keys, loopback callers only."""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._reject(send)
        seen = 0
        started = rejected = False

        async def limited_receive():
            nonlocal seen, rejected
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Answer now: the framework turns any error while reading the body into a 400,
                    # which `tracking_send` then drops.
                    if not started and not rejected:
                        rejected = True
                        await self._reject(send)
                    raise BodyTooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if rejected:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started and not rejected:
                await self._reject(send)

    async def _reject(self, send):
        body = json.dumps({"error": "body_too_large", "fields": [],
                           "message": f"request body is larger than the limit of {self.max_bytes:,} bytes "
                                      "(WFM_MAX_BODY_BYTES)"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(value: str) -> str:
    return urlsplit(f"//{value}").hostname or ""


class LoopbackOnly:
    """Without API keys, any web page the user opens could post to the server: a page served from
    elsewhere sends its own Origin, and one that rebinds its DNS name to 127.0.0.1 sends its own
    Host. Both must name this machine, or the request is refused (403)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        host = _hostname(headers.get(b"host", b"").decode("latin-1"))
        origin = headers.get(b"origin")
        bad = None
        if not is_loopback(host):
            bad = f"Host {host or '(none)'!r}"
        elif origin is not None and not is_loopback(urlsplit(origin.decode("latin-1")).hostname or ""):
            bad = f"Origin {origin.decode('latin-1')!r}"  # "null" too: a sandboxed page sends it
        if bad is None:
            return await self.app(scope, receive, send)
        body = json.dumps({"error": "forbidden_host", "fields": [], "message":
                           f"this server runs without API keys (--no-auth) and answers this machine only; "
                           f"{bad} is not a loopback address"}).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
