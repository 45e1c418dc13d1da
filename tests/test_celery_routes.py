"""Heavy work stays off the interactive queue (issue 10): parsing and analysis are routed to ``ingest``, the
rest to ``default``, and the scale-out compose file runs separate workers for the two queues."""

from __future__ import annotations

from pathlib import Path

import yaml

from lims.celery import app

ROOT = Path(__file__).resolve().parent.parent
#: the tasks that read instrument files or fit models: seconds to minutes each
HEAVY = {
    "measurements.tasks.parse_upload",
    "measurements.tasks.analyse_measurement",
    "measurements.tasks.analyse_series",
    "measurements.tasks.recompute_for_cell",
    "measurements.tasks.recompute_for_membrane",
    "measurements.tasks.recompute_for_pellet",
}
#: what a person (or the health check) waits for
INTERACTIVE = {"lims.ping", "formulations.tasks.mark_expired_lots"}


def _queue(task_name: str) -> str:
    return str(app.amqp.router.route({}, task_name)["queue"].name)


def _task_names() -> set[str]:
    app.loader.import_default_modules()
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_parsing_and_analysis_go_to_the_ingest_queue() -> None:
    names = _task_names()
    assert HEAVY <= names, f"tasks missing from the app: {sorted(HEAVY - names)}"
    assert {name: _queue(name) for name in HEAVY} == dict.fromkeys(HEAVY, "ingest")


def test_interactive_tasks_stay_on_the_default_queue() -> None:
    assert {name: _queue(name) for name in INTERACTIVE} == dict.fromkeys(INTERACTIVE, "default")


def test_every_task_is_routed_to_one_of_the_two_queues_the_workers_consume() -> None:
    """A new task lands in a queue some worker reads (a typo in a route would strand its messages)."""
    unrouted = {name: _queue(name) for name in _task_names() if _queue(name) not in {"default", "ingest"}}
    assert unrouted == {}


def _worker_queues(compose: dict[str, object]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, service in compose["services"].items():  # type: ignore[attr-defined]
        command = service.get("command") or []
        if "worker" in command and "celery" in command:
            found[name] = set(command[command.index("-Q") + 1].split(","))
    return found


def test_the_scale_compose_file_runs_ingest_workers_apart_from_the_interactive_worker() -> None:
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    scale = yaml.safe_load((ROOT / "docker-compose.scale.yml").read_text())
    assert _worker_queues(base) == {"worker": {"default", "ingest"}}  # one machine: one worker reads both
    assert _worker_queues(scale) == {"worker": {"default"}, "worker-ingest": {"ingest"}}
    assert "replicas" in scale["services"]["worker-ingest"]["deploy"]
    assert "replicas" in scale["services"]["app"]["deploy"]
    assert "DATABASE_REPLICA_URL" in scale["services"]["app"]["environment"]
