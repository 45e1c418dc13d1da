"""Fixtures of the measurements tests: samples to upload for, instruments, and a REAL Celery worker process.

``celery_worker_process`` (needs LIMS_TEST_REDIS_URL and a transactional test on PostgreSQL) starts
``celery -A lims worker -Q default,ingest --pool solo`` against the test database and the Redis broker, and points
this process's Celery app at the same broker (not eager) for the duration of the test. It yields a handle with the
``Popen`` object, the log path and ``kill()`` (SIGKILL) / ``restart()`` so fault-injection tests can reuse it;
``pool = "prefork"`` before ``start()`` runs the tasks in a child process (``child_pids()``), whose death the
parent notices (reject_on_worker_lost), and ``env`` can be changed between a kill and the next start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------------------ samples
@pytest.fixture
def pellet_lot(db, researcher):  # type: ignore[no-untyped-def]
    from formulations.models import Chemical, ChemicalRole, StockLot

    llzto = Chemical.objects.create(name="LLZTO", role=ChemicalRole.CERAMIC_FILLER, theoretical_density=5.1)
    return StockLot.objects.create(code="L-LLZ001", chemical=llzto, created_by=researcher)


def _pellet(team, lot, user, code):  # type: ignore[no-untyped-def]
    from formulations.models import Pellet

    return Pellet.objects.create(
        team=team,
        code=code,
        lot=lot,
        powder_mass=0.5,
        press_pressure=300,
        sinter_temperature=1200,
        sinter_dwell=3600,
        final_diameter=10.0,
        final_thickness=1.0,
        final_mass=0.4,
        created_by=user,
    )


def _cell(team, pellet, user, code):  # type: ignore[no-untyped-def]
    from cells.models import Cell

    return Cell.objects.create(
        team=team,
        code=code,
        configuration="blocking",
        pellet=pellet,
        active_area=0.785,
        operator=user,
        created_by=user,
    )


@pytest.fixture
def pellet(team, pellet_lot, researcher):  # type: ignore[no-untyped-def]
    return _pellet(team, pellet_lot, researcher, "P-0001")


@pytest.fixture
def cell(team, pellet, researcher):  # type: ignore[no-untyped-def]
    """A blocking SS|LLZTO|SS cell of ``team``."""
    return _cell(team, pellet, researcher, "LZ-BLK-001")


@pytest.fixture
def other_cell(other_team, pellet_lot, outsider):  # type: ignore[no-untyped-def]
    """A cell of ``other_team`` (the outsider's)."""
    return _cell(other_team, _pellet(other_team, pellet_lot, outsider, "P-9001"), outsider, "OT-BLK-001")


@pytest.fixture
def instrument(team, manager):  # type: ignore[no-untyped-def]
    from measurements.services.ingest import create_instrument

    return create_instrument(
        actor=manager, team=team, name="VMP3 #1", make="BioLogic", model="VMP3", channel_count=16
    )


@pytest.fixture
def instrument_client(instrument, manager):  # type: ignore[no-untyped-def]
    """An APIClient sending a real instrument token of ``instrument``."""
    from rest_framework.test import APIClient

    from measurements.services.ingest import issue_instrument_token

    token, key = issue_instrument_token(actor=manager, instrument=instrument, name="lab PC")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.lims_token = token  # type: ignore[attr-defined]
    return client


@pytest.fixture
def parsed_files(settings):  # type: ignore[no-untyped-def]
    """Parquet files currently under MEDIA_ROOT/parsed (to assert that nothing was left behind)."""

    def listing() -> list[Path]:
        root = Path(settings.MEDIA_ROOT) / "parsed"
        return sorted(root.rglob("*.parquet")) if root.exists() else []

    return listing


# ------------------------------------------------------------------------------------------------ real worker
@dataclass
class WorkerHandle:
    broker_url: str
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    pool: str = "solo"

    def start(self, timeout: float = 60.0) -> None:
        from lims.celery import app

        n = len(self.logs)
        path = self.log_path.with_name(f"{self.log_path.stem}-{n}.log")
        self.logs.append(path)
        fh = path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "lims",
                "worker",
                "-Q",
                "default,ingest",
                "--pool",
                self.pool,
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
                "-n",
                f"pytest-{os.getpid()}-{n}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.read_logs()}")
            replies = app.control.ping(timeout=0.5)
            if any(name.startswith(f"pytest-{os.getpid()}-{n}@") for reply in replies for name in reply):
                return
        raise RuntimeError(f"celery worker did not answer within {timeout} s:\n{self.read_logs()}")

    def kill(self) -> None:
        """SIGKILL the worker (no clean shutdown: what an OOM kill or a power cut does)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def child_pids(self) -> list[int]:
        """The pool's worker processes (prefork), which run the tasks."""
        if self.proc is None:
            return []
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def read_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-20000:] for p in self.logs if p.exists())


def _database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _drop_broker_connections(app: Any) -> None:
    """Forget every pooled connection to the previous broker URL.

    ``app.close()`` drops the connection pool but not the producer pool that ``apply_async`` and
    ``control.ping`` publish through, which keeps the broker of whichever test published first (memory://).
    """
    app.close()
    app.amqp._producer_pool = None
    app._backend_cache = None  # the result backend is built again from app.conf.result_backend
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def celery_worker_process(request, transactional_db, settings, tmp_path) -> Iterator[WorkerHandle]:  # type: ignore[no-untyped-def]
    """A real ``celery worker`` process on the Redis broker of LIMS_TEST_REDIS_URL, using the test database.

    The pool is ``solo``; ``@pytest.mark.parametrize("celery_worker_process", ["prefork"], indirect=True)``
    starts a prefork pool instead."""
    import redis

    from lims.celery import app

    broker_url = os.environ.get("LIMS_TEST_REDIS_URL", "")
    if not broker_url:
        pytest.skip("needs Redis (set LIMS_TEST_REDIS_URL)")
    redis.Redis.from_url(broker_url).flushdb()  # a dedicated test database: no message of an earlier run

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CELERY_BROKER_URL", "REDIS_URL", "CELERY_RESULT_BACKEND", "LIMS_PROFILE")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "lims.settings",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": broker_url,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "DB_CONN_MAX_AGE": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    saved: dict[str, Any] = {
        "broker_url": app.conf.broker_url,
        "result_backend": app.conf.result_backend,
        "task_always_eager": app.conf.task_always_eager,
    }
    app.conf.broker_url = broker_url
    app.conf.result_backend = broker_url  # what the settings derive from a Redis broker (lims.ping's result)
    app.conf.task_always_eager = False
    _drop_broker_connections(app)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    handle = WorkerHandle(
        broker_url=broker_url,
        env=env,
        log_path=tmp_path / "celery-worker.log",
        pool=getattr(request, "param", "solo"),
    )
    try:
        handle.start()
        yield handle
    finally:
        handle.stop()
        app.conf.broker_url = saved["broker_url"]
        app.conf.result_backend = saved["result_backend"]
        app.conf.task_always_eager = saved["task_always_eager"]
        _drop_broker_connections(app)
