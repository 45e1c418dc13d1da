"""Print the reproduction report: each value the paper reports, the value the LIMS computed, the difference."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from measurements import reproduction


class Command(BaseCommand):
    help = "Compare the LIMS's computed values (from the demo's raw files) with the paper's reported values."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--strict", action="store_true", help="exit 1 unless every value is within 2%%")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = reproduction.build()
        w = self.stdout.write
        w(
            f"{'quantity':48s} {'electrolyte':26s} {'paper':>10s} {'LIMS':>10s} {'unit':7s} {'diff':>7s}  provenance"
        )
        for r in rows:
            lims = f"{r.lims_value:10.4g}" if r.lims_value is not None else f"{'—':>10s}"
            diff = f"{100 * r.difference:+6.2f}%" if r.difference is not None else f"{'—':>7s}"
            paper = f"{'>' if r.reported.bound == 'lower' else ''}{r.reported.paper_value:.4g}"
            w(
                f"{r.reported.quantity[:48]:48s} {r.reported.electrolyte[:26]:26s} {paper:>10s} "
                f"{lims} {r.reported.unit:7s} {diff}  {r.provenance_url or r.derived_url}"
            )
        s = reproduction.summary(rows)
        w(
            f"\n{s['computed']} of {s['reported']} reported values computed; {s['within_2_percent']} within 2%."
        )
        if options["strict"] and s["within_2_percent"] < s["reported"]:
            raise SystemExit(1)
