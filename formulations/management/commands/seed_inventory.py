"""Load the demo inventory (the source paper's chemicals, suppliers, storage tree and lots). Idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from formulations import demo
from lims.audit import acting_as
from lims.models import User


class Command(BaseCommand):
    help = (
        "Load the paper's chemicals (molar masses, densities, synonyms, CAS), suppliers, locations and lots."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--user", default="", help="username the records are attributed to (default: none)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user named {options['user']!r}")
        with transaction.atomic(), acting_as(user, reason="seed inventory", via="seed_inventory"):
            demo.load(user=user, team=None, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("inventory ready"))
