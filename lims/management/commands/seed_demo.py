"""Load the demo: a team, the demo login, and each app's demo data (DEMO_MODULES, each with ``load(user, team, stdout)``).

Idempotent: running it twice changes nothing the second time. ``--if-empty`` skips when the demo user exists.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from lims.audit import acting_as
from lims.models import Membership, Role, Team, User

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-lims-2026"
DEMO_MODULES = ["formulations.demo", "formulations.demo_synthesis", "cells.demo", "measurements.demo"]


class Command(BaseCommand):
    help = "Load the demo team, the demo user (demo / demo-lims-2026) and the demo data of every app."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the demo user exists")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and User.objects.filter(username=DEMO_USERNAME).exists():
            self.stdout.write("demo data already present")
            return
        with transaction.atomic():
            user, created = User.objects.get_or_create(
                username=DEMO_USERNAME,
                defaults={
                    "first_name": "Demo",
                    "last_name": "Researcher",
                    "is_staff": True,
                    "is_superuser": True,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            team, _ = Team.objects.get_or_create(slug="ssb", defaults={"name": "Solid-state battery group"})
            Membership.objects.get_or_create(user=user, team=team, defaults={"role": Role.MANAGER})
        for name in DEMO_MODULES:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            with acting_as(user, reason="demo data", via="seed_demo"):
                module.load(user=user, team=team, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"demo ready: log in as {DEMO_USERNAME} / {DEMO_PASSWORD}"))
