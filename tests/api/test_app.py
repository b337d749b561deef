from __future__ import annotations

from fastapi.testclient import TestClient

from songforge.api.app import create_app
from songforge.models import SongRequest
from tests.service import _fake_engine as fake
from tests.service._helpers import make_settings, wait_until


def test_health_ready_and_metrics_with_workers(tmp_path):
    app = create_app(make_settings(tmp_path), generate=fake.sine_song)
    with TestClient(app) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {
            "database": True, "files": True, "workers": True}
        service = app.state.service
        [job] = service.submit(SongRequest(prompt="x", format="wav"))
        wait_until(lambda: service.get(job.id).status.value == "succeeded")
        text = client.get("/metrics").text
        assert 'songforge_jobs{status="succeeded"} 1.0' in text
        assert 'songforge_job_status_changes_total{status="succeeded"} 1.0' in text
        assert "songforge_workers 1.0" in text


def test_readiness_follows_the_workers(tmp_path):
    with TestClient(create_app(make_settings(tmp_path), run_workers=False)) as client:
        assert client.get("/readyz").status_code == 200  # API-only process: no workers needed
    app = create_app(make_settings(tmp_path), generate=fake.sine_song)
    with TestClient(app) as client:
        app.state.service.pool.stop()
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["checks"]["workers"] is False
