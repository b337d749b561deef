"""Suno callbacks of one task keep their order when different processes send its stages (a
broker worker sends ``first`` while another process is still delivering ``text``)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from songforge.api.suno.runtime import SunoRuntime
from songforge.storage.jobs import SqlJobStore
from songforge.storage.tasks import TaskRecord
from tests.service._helpers import make_settings


class _Sender:
    def __init__(self, log: list[str], delay_s: float) -> None:
        self.log, self.delay_s = log, delay_s

    def deliver(self, url: str, payload: dict) -> bool:
        time.sleep(self.delay_s)
        self.log.append(payload["stage"])
        return True


def _runtime(store: SqlJobStore, settings, log: list[str], delay_s: float) -> SunoRuntime:
    service = SimpleNamespace(store=store, settings=settings,
                              dispatcher=SimpleNamespace(sender=_Sender(log, delay_s)))
    return SunoRuntime(service)  # type: ignore[arg-type]


def test_a_later_stage_waits_for_the_earlier_one_sent_by_another_process(tmp_path):
    settings = make_settings(tmp_path)
    store = SqlJobStore(settings.database_url_or_default())
    log: list[str] = []
    slow, fast = _runtime(store, settings, log, 0.5), _runtime(store, settings, log, 0.0)
    slow.tasks.create(TaskRecord(id="t1", kind="music"))
    try:
        text = threading.Thread(target=lambda: slow.deliver("http://x/", {"stage": "text"}, order_key="t1",
                                                            stage="text").result(10))
        text.start()
        time.sleep(0.1)  # "text" is being delivered (slowly) by the other process
        first = fast.deliver("http://x/", {"stage": "first"}, order_key="t1", stage="first", after="text")
        assert first is not None and first.result(10)
        text.join(10)
        assert log == ["text", "first"]
        assert {"text:ended", "first:ended"} <= set(slow.tasks.get("t1").sent)
    finally:
        slow.close()
        fast.close()
        store.close()
