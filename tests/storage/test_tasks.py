from __future__ import annotations

import threading

import pytest

from songforge.errors import NotFound
from songforge.storage.jobs import SqlJobStore
from songforge.storage.tasks import SUCCESS, TaskRecord, TaskStore


@pytest.fixture
def tasks(tmp_path):
    return TaskStore(SqlJobStore(f"sqlite:///{tmp_path / 'db.sqlite'}").engine)


def test_create_get_update_find_count(tasks):
    tasks.create(TaskRecord(id="t1", kind="lyrics", ref="m1", param='{"a":1}', data={"x": [1]}, owner_key_id="k"))
    got = tasks.get("t1", kind="lyrics")
    assert got.data == {"x": [1]} and got.param == '{"a":1}' and got.status == "PENDING" and got.created_at.tzinfo
    assert tasks.update("t1", status=SUCCESS, error_code=None).status == SUCCESS
    assert tasks.find("lyrics", "m1").id == "t1" and tasks.find("lyrics", "m2") is None
    assert tasks.count("lyrics", owner_key_id="k") == 1 and tasks.count("lyrics", owner_key_id="z") == 0
    with pytest.raises(NotFound):
        tasks.get("t1", kind="wav")
    with pytest.raises(ValueError):
        tasks.update("t1", sent=["x"])


def test_table_creation_is_idempotent(tmp_path):
    store = SqlJobStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    TaskStore(store.engine).create(TaskRecord(id="a", kind="music"))
    assert TaskStore(store.engine).get("a").kind == "music"


def test_mark_sent_is_once_per_stage_under_a_race(tasks):
    tasks.create(TaskRecord(id="t", kind="music"))
    wins: list[bool] = []
    threads = [threading.Thread(target=lambda: wins.append(tasks.mark_sent("t", "complete"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1 and tasks.get("t").sent == ("complete",)
    assert tasks.mark_sent("t", "first") and tasks.get("t").sent == ("complete", "first")


def test_delete_older_than_removes_only_tasks_created_before_the_cutoff(tasks):
    from datetime import timedelta

    from songforge.storage.jobs import utc_now

    now = utc_now()
    tasks.create(TaskRecord(id="a", kind="music", created_at=now - timedelta(days=20)))
    tasks.create(TaskRecord(id="b", kind="music", created_at=now - timedelta(days=1)))
    assert tasks.delete_older_than(now - timedelta(days=15)) == 1
    assert tasks.count("music") == 1 and tasks.get("b").id == "b"
    with pytest.raises(NotFound):
        tasks.get("a")
    assert tasks.delete_older_than(now - timedelta(days=15)) == 0
