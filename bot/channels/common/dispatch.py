"""Draining the inbox: accepted updates processed in order per chat, at least once.

Each worker runs one :class:`Dispatcher`. A chat is drained by one worker at a time (it
holds the chat's lease in the shared inbox, renewed while it works), head entry first;
an entry is removed only after its replies are delivered. Processing is two steps:
``prepare`` runs the turn and returns what is to be sent, which is saved on the entry
before ``deliver`` sends it — so an entry taken over after a crash or a stop resends
the saved replies instead of running the turn a second time.

Chats are found by a scan of the inbox every ``scan_seconds`` (other workers' leftovers,
expired leases) and, without waiting, by :meth:`Dispatcher.kick` right after a push.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Protocol

from bot import metrics
from bot.logs import event
from bot.state import Inbox, InboxEntry

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
"""An entry whose processing fails unexpectedly this often is dropped (logged), so that
one broken update cannot block its chat for good."""


class RetryLater(Exception):
    """Delivery failed for now (the platform is unreachable): keep the entry, try again
    after ``delay_seconds``; ``progress``, when given, replaces what is left to deliver."""

    def __init__(self, delay_seconds: float, progress: str | None = None) -> None:
        super().__init__(f"retry in {delay_seconds:g} s")
        self.delay_seconds = delay_seconds
        self.progress = progress


class EntryHandler(Protocol):
    """What the dispatcher needs of a channel."""

    async def prepare(self, entry: InboxEntry) -> str | None:
        """Run the turn of ``entry``; what to deliver (serialised), or ``None`` for nothing."""

    async def deliver(self, progress: str) -> None:
        """Send what :meth:`prepare` returned; :class:`RetryLater` when the platform is down."""


@dataclass(frozen=True)
class Pace:
    """How a dispatcher works: chats drained at once, the lease on a chat (renewed every
    third of it while an entry is processed; a dead worker's chats are taken over when it
    runs out), and how often the inbox is scanned for chats nobody drains."""

    concurrency: int = 64
    lease_seconds: float = 5.0
    scan_seconds: float = 0.5


class Dispatcher:
    """Drains the chats of one inbox with at most ``pace.concurrency`` chats at a time."""

    def __init__(self, inbox: Inbox, handler: EntryHandler, channel: str, pace: Pace = Pace()) -> None:
        self.inbox = inbox
        self.handler = handler
        self.channel = channel
        self.lease_seconds = pace.lease_seconds
        self.scan_seconds = pace.scan_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._slots = asyncio.Semaphore(pace.concurrency)
        self._active: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._attempts: dict[str, int] = {}
        self._scanner: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def busy(self) -> bool:
        """Whether a chat is being drained right now."""
        return bool(self._active)

    @property
    def running(self) -> bool:
        return self._scanner is not None and not self._scanner.done() and not self._stopping

    def start(self) -> None:
        """Begin scanning (call from the running event loop)."""
        if self._scanner is None:
            self._scanner = asyncio.create_task(self._scan(), name=f"{self.channel}-dispatch-scan")

    def kick(self, chat: str) -> None:
        """Drain ``chat`` now (an entry was just pushed)."""
        if self._stopping:
            return
        if chat in self._active:
            self._again.add(chat)  # the running drain looks once more before it ends
            return
        self._active[chat] = asyncio.create_task(self._drain(chat), name=f"{self.channel}-drain")

    async def stop(self, timeout: float) -> bool:
        """Stop taking chats; let those being processed finish within ``timeout`` seconds,
        then cancel the rest (their entries stay queued for the next worker). True when
        everything finished in time."""
        self._stopping = True
        if self._scanner is not None:
            self._scanner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scanner
        pending = list(self._active.values())
        if not pending:
            return True
        _, late = await asyncio.wait(pending, timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=2.0)
        event(log, logging.INFO, f"{self.channel}.dispatch_stopped", finished=len(pending) - len(late), left=len(late))
        return not late

    async def _scan(self) -> None:
        failures = 0
        while True:
            try:
                for chat in await self.inbox.ready(limit=256):
                    self.kick(chat)
                metrics.BACKLOG.set(await self.inbox.backlog())
                failures = 0
            except Exception as exc:  # the store is down: keep trying, quietly
                failures += 1
                if failures == 1 or failures % 60 == 0:
                    event(log, logging.WARNING, f"{self.channel}.dispatch_scan_failed", error=type(exc).__name__)
            await asyncio.sleep(self.scan_seconds * min(failures + 1, 10))

    async def _drain(self, chat: str) -> None:
        try:
            async with self._slots:
                while True:
                    self._again.discard(chat)
                    await self._drain_once(chat)
                    if chat not in self._again or self._stopping:
                        return
        except Exception as exc:
            metrics.ERRORS.labels(self.channel, "dispatch").inc()
            event(log, logging.WARNING, f"{self.channel}.dispatch_failed", error=type(exc).__name__)
        finally:
            self._active.pop(chat, None)

    async def _drain_once(self, chat: str) -> None:
        entry = await self.inbox.take(chat, self.owner, self.lease_seconds)
        while entry is not None:
            if self._stopping:
                await self.inbox.release(chat, self.owner)
                return
            try:
                await self._with_heartbeat(chat, entry)
            except RetryLater as exc:
                if exc.progress is not None:
                    await self.inbox.save(chat, self.owner, entry.id, exc.progress)
                await self.inbox.release(chat, self.owner, exc.delay_seconds)
                return
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(self.inbox.release(chat, self.owner)), 1.0)
                raise
            entry = await self.inbox.done(chat, self.owner, entry.id, self.lease_seconds)

    async def _with_heartbeat(self, chat: str, entry: InboxEntry) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(chat))
        try:
            await self._process(chat, entry)
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, chat: str) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            with contextlib.suppress(Exception):
                await self.inbox.extend(chat, self.owner, self.lease_seconds)

    async def _process(self, chat: str, entry: InboxEntry) -> None:
        try:
            progress = entry.progress
            if progress is None:
                progress = await self.handler.prepare(entry)
                if progress is None:
                    return
                await self.inbox.save(chat, self.owner, entry.id, progress)
            await self.handler.deliver(progress)
        except (RetryLater, asyncio.CancelledError):
            raise
        except Exception as exc:
            attempts = self._attempts.get(entry.id, 0) + 1
            self._attempts[entry.id] = attempts
            event(log, logging.ERROR, f"{self.channel}.entry_failed", attempt=attempts, error=type(exc).__name__)
            log.debug("%s.entry_failed details", self.channel, exc_info=exc)
            if attempts < MAX_ATTEMPTS:
                raise RetryLater(min(2.0**attempts, 30.0)) from exc
            metrics.ERRORS.labels(self.channel, "entry_dropped").inc()
        self._attempts.pop(entry.id, None)  # done, or given up on
