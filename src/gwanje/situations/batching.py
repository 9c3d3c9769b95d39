"""Device messages posted over HTTP at the same moment share one transaction.

``POST /api/events`` answers only after its message is stored; one transaction per request made the
route as slow as the database's commits (about 150 a second). :class:`IngestCoalescer` gathers the
messages whose requests arrive while a batch is being stored and stores them together, as the MQTT
consumer does: each request still waits for its own message's outcome, which is the same as if it had
been alone — :func:`gwanje.situations.service.ingest_batch` stores and judges every message of a batch
on its own (a message that breaks the batch is retried alone), and replays in one batch are recognised
by their message id like any other.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.concurrency import run_in_threadpool

from gwanje.core.db import Database
from gwanje.policy.model import Policy
from gwanje.situations import service
from gwanje.situations.inbox import HotListMatcher

# Enough to fill one transaction usefully; a larger backlog is stored in several batches, in order.
MAX_BATCH = 256
# Batches stored at once: while one waits for its commit, the next is being stored. A device that waits
# for each answer before it sends again (as the protocol asks) has one message in flight, so its
# sequence numbers are judged in order all the same.
IN_FLIGHT = 1


class IngestCoalescer:
    """Up to ``IN_FLIGHT`` batches being stored per process; requests that arrive meanwhile wait for the next."""

    def __init__(self, db: Database, policy: Policy, hotlist: HotListMatcher | None = None):
        self.db = db
        self.policy = policy
        self.hotlist = hotlist
        self._pending: list[tuple[service.RawMessage, asyncio.Future]] = []
        self._drainers: set[asyncio.Task] = set()
        self.batches = 0  # how many transactions stored the messages so far (for tests and figures)

    async def ingest(self, item: service.RawMessage) -> service.IngestResult:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._drainers) < IN_FLIGHT:
            task = asyncio.create_task(self._drain())
            self._drainers.add(task)
            task.add_done_callback(self._drainers.discard)
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                stored = await run_in_threadpool(
                    service.ingest_batch, self.db, self.policy, [item for item, _ in batch], hotlist=self.hotlist
                )
            except Exception as exc:  # noqa: BLE001 - the database is down: every waiting request hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            for (_, future), result in zip(batch, stored.results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        for task in list(self._drainers):
            with contextlib.suppress(Exception):
                await task
