"""Job events across processes: every process publishes its own events to a Redis channel and
feeds the other processes' events to its SSE followers.

A worker on another machine makes the song; the client's SSE connection is held by some API
process. With ``SONGFORGE_REDIS_URL`` set, each process runs a :class:`RedisEventRelay`: a bus
listener publishes the process's own events (status, progress and audio chunks) on one Redis
pub/sub channel, and a thread hands the events of the other processes to this process's
subscribers through :meth:`EventBus.publish_remote` (not to its listeners: a callback is sent
by the process where its event happened, once). Pub/sub keeps nothing: a follower that connects
late reads the job's current state first (``SongService.events``), and polls it while idle.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from songforge.models import JobStatus
from songforge.service.lifecycle import EventBus, JobEvent

__all__ = ["RedisEventRelay", "event_to_wire", "event_from_wire", "CHANNEL"]

log = logging.getLogger(__name__)

CHANNEL = "songforge:events"
_RECONNECT_S = 1.0
_SUBSCRIBE_WAIT_S = 5.0


def event_to_wire(event: JobEvent, origin: str) -> str:
    """The event as JSON (chunk data base64) tagged with the publishing process."""
    body: dict[str, Any] = {**event.to_dict(), "offset": event.offset, "origin": origin}
    if event.data is not None:
        body["data"] = base64.b64encode(event.data).decode()
    return json.dumps(body)


def event_from_wire(text: str | bytes) -> tuple[str, JobEvent]:
    """``(origin, event)`` from :func:`event_to_wire`'s JSON."""
    body = json.loads(text)
    data = base64.b64decode(body["data"]) if body.get("data") is not None else None
    event = JobEvent(
        job_id=body["job_id"], kind=body["kind"], status=JobStatus(body["status"]), stage=body["stage"],
        progress_pct=float(body["progress_pct"]), ts=float(body["ts"]), error_code=body["error_code"],
        data=data, offset=int(body.get("offset", 0)),
    )
    return str(body["origin"]), event


class RedisEventRelay:
    """Bridges one process's :class:`EventBus` with every other process's over Redis pub/sub.

    Parameters
    ----------
    bus : this process's bus.
    redis_url : ``Settings.redis_url``.
    channel : the pub/sub channel (one per deployment).
    """

    def __init__(self, bus: EventBus, redis_url: str, *, channel: str = CHANNEL) -> None:
        import redis

        self.bus, self.channel = bus, channel
        self.origin = uuid.uuid4().hex
        self._redis = redis.Redis.from_url(redis_url)
        self._stop = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self._pubsub: Any = None

    def start(self) -> None:
        """Subscribe (returns once the subscription is live), then publish this process's events."""
        self._pubsub = self._subscribe()
        self._thread = threading.Thread(target=self._listen_forever, name="songforge-relay", daemon=True)
        self._thread.start()
        self._unsubscribe = self.bus.add_listener(self._publish)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_RECONNECT_S * 3)
        self._redis.close()

    def _subscribe(self) -> Any:
        pubsub = self._redis.pubsub()
        pubsub.subscribe(self.channel)
        confirmation = pubsub.get_message(timeout=_SUBSCRIBE_WAIT_S)
        if not confirmation or confirmation.get("type") != "subscribe":
            raise ConnectionError(f"could not subscribe to Redis channel {self.channel!r}")
        return pubsub

    def _publish(self, event: JobEvent) -> None:
        try:
            self._redis.publish(self.channel, event_to_wire(event, self.origin))
        except Exception:  # Redis away: other processes fall back to polling the job store
            log.exception("publishing an event of job %s failed", event.job_id)

    def _listen_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self._pump()
            except Exception:
                log.exception("the event relay lost Redis; reconnecting")
                self._stop.wait(_RECONNECT_S)
                try:
                    self._pubsub = self._subscribe()
                except Exception:
                    log.exception("resubscribing failed")

    def _pump(self) -> None:
        message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=_RECONNECT_S)
        if message is None or message.get("type") != "message":
            return
        origin, event = event_from_wire(message["data"])
        if origin != self.origin:
            self.bus.publish_remote(event)
