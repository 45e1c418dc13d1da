"""The WSGI application (gunicorn ``lims.wsgi:application``), with the garbage collector set for a web worker.

A worker holds ~220,000 long-lived objects once Django, DRF, pint and the URL conf are loaded. CPython's full
(generation 2) collection walks all of them: 170 ms on this machine, every 60 list requests or so, which is where the
API's p95/p99 latency spikes came from (bench/bench_http.py, docs/scaling.md). ``gc.freeze()`` after loading
moves them out of the collector's sight (and, with gunicorn's ``--preload``, keeps the forked workers' pages shared);
cycles made by requests are still collected. CPython's thresholds stay: a higher first threshold (10,000 or 50,000)
made each young collection long enough to raise the p95 of the small endpoints (upload status 8.9 -> 11-12.6 ms).
``LIMS_GC_FREEZE=0`` keeps CPython's behaviour; ``LIMS_GC_THRESHOLD`` (three integers) sets the thresholds.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
application = get_wsgi_application()


def tune_gc() -> tuple[int, ...]:
    if os.environ.get("LIMS_GC_FREEZE", "1") == "0":
        return gc.get_threshold()
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - load the URL conf (and the views it imports) before freezing
    gc.collect()
    gc.freeze()
    if os.environ.get("LIMS_GC_THRESHOLD"):
        gc.set_threshold(*(int(x) for x in os.environ["LIMS_GC_THRESHOLD"].split(",")))
    return gc.get_threshold()


tune_gc()
