"""Settings of bench/bench_floor.py: the LIMS's own settings, with a URL conf that adds three do-nothing views."""

from lims.settings import *  # noqa: F403

ROOT_URLCONF = "floor_urls"

if env("FLOOR_BARE", "0") == "1":  # noqa: F405 - Django without any middleware, for the decomposition
    MIDDLEWARE = []
