"""API keys: header `X-API-Key`, stored hashed, each belonging to a tenant."""

from __future__ import annotations

import time

from fastapi import Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader

from .errors import ApiError
from .store import Store, hash_key

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="API key from `wfm apikey create --tenant NAME`")
NO_AUTH_TENANT = "default"


class Authenticator:
    """Looks keys up in the store, remembering good ones for `cache_seconds` (by hash, so no
    key is kept in memory in clear): short, so a revoked key stops working within a second in
    every process serving the same store."""

    def __init__(self, store: Store, enabled: bool = True, cache_seconds: float = 0.5):
        self.store, self.enabled, self.cache_seconds = store, enabled, cache_seconds
        self._cache: dict[str, tuple[str, float]] = {}

    def cached(self, key: str) -> str | None:
        hit = self._cache.get(hash_key(key))
        if hit and hit[1] > time.monotonic():
            return hit[0]
        return None

    def lookup(self, key: str) -> str | None:
        tenant = self.store.tenant_for_key(key)
        if tenant is not None:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[hash_key(key)] = (tenant, time.monotonic() + self.cache_seconds)
        return tenant


# For routes that read the header themselves: the same security entry in the OpenAPI schema.
SECURITY = {"security": [{"APIKeyHeader": []}]}


async def current_tenant(request: Request, key: str | None = Security(api_key_header)) -> str:
    return await authenticate(request, key)


async def authenticate(request: Request, key: str | None) -> str:
    """The caller's tenant, or a 401 naming what is wrong with the key."""
    auth: Authenticator = request.app.state.auth
    if not auth.enabled:
        return NO_AUTH_TENANT
    if not key:
        raise ApiError(401, "missing_api_key", "send an API key in the X-API-Key header "
                                               "(create one with `wfm apikey create --tenant NAME`)")
    tenant = auth.cached(key)
    if tenant is None:
        tenant = await run_in_threadpool(auth.lookup, key)
    if tenant is None:
        raise ApiError(401, "invalid_api_key", "this API key is not known (or was revoked)")
    return tenant
