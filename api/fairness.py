"""Fair use of a few worker slots between tenants (the forecast pool): one tenant never holds
every slot while another waits, so a big forecast delays only its own tenant's next one."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import asynccontextmanager


class FairGate:
    """At most `slots` calls at once, at most `slots - 1` of them (at least one) for one tenant.
    A free slot goes to the waiting tenant with the fewest calls running, oldest request first."""

    def __init__(self, slots: int):
        self.slots = max(1, slots)
        self.per_tenant = max(1, self.slots - 1)
        self._running: Counter[str] = Counter()
        self._waiting: list[tuple[str, asyncio.Future]] = []

    def running(self, tenant: str | None = None) -> int:
        return self._running[tenant] if tenant is not None else sum(self._running.values())

    def waiting(self) -> int:
        return len(self._waiting)

    def waiting_tenants(self) -> set[str]:
        return {tenant for tenant, _ in self._waiting}

    @asynccontextmanager
    async def slot(self, tenant: str):
        granted = asyncio.get_running_loop().create_future()
        self._waiting.append((tenant, granted))
        self._grant()
        try:
            await granted
        except asyncio.CancelledError:  # the client went away while waiting
            if granted.done() and not granted.cancelled():
                self._release(tenant)
            else:
                self._waiting = [(t, f) for t, f in self._waiting if f is not granted]
            raise
        try:
            yield
        finally:
            self._release(tenant)

    def _release(self, tenant: str) -> None:
        self._running[tenant] -= 1
        if self._running[tenant] <= 0:
            del self._running[tenant]
        self._grant()

    def _grant(self) -> None:
        while self.running() < self.slots:
            eligible = [(self._running[t], i) for i, (t, f) in enumerate(self._waiting)
                        if self._running[t] < self.per_tenant and not f.done()]
            if not eligible:
                return
            _, index = min(eligible)
            tenant, granted = self._waiting.pop(index)
            self._running[tenant] += 1
            granted.set_result(None)
