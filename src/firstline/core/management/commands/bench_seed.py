import time

from django.core.management.base import BaseCommand, CommandError

from firstline.core import benchseed
from firstline.core.errors import Conflict


class Command(BaseCommand):
    help = (
        "Fill the database with realistic benchmark data: organizations, people, groups, "
        "tickets with conversations, history and SLA clocks, and knowledge-base articles. "
        f"Every seeded user's password is {benchseed.BENCH_PASSWORD!r}."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=10_000)
        parser.add_argument("--organizations", type=int, default=200)
        parser.add_argument("--agents", type=int, default=300)
        parser.add_argument("--articles", type=int, default=0)
        parser.add_argument("--requesters", type=int, default=None)
        parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
        parser.add_argument(
            "--force", action="store_true", help="add to a database that already has tickets"
        )
        parser.add_argument(
            "--no-search-index", action="store_true", help="do not rebuild the search index"
        )

    def handle(self, *args, **options):
        for name in ("tickets", "organizations", "agents"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        seed_options = benchseed.SeedOptions(
            tickets=options["tickets"],
            organizations=options["organizations"],
            agents=options["agents"],
            articles=options["articles"],
            requesters=options["requesters"],
            seed=options["seed"],
            force=options["force"],
        )
        began = time.perf_counter()
        try:
            report = benchseed.seed(seed_options, progress=self._say)
        except Conflict as exc:
            raise CommandError(f"{exc.message} Use --force to add to it anyway.") from None
        for key, value in report.counts.items():
            self._say(f"{key}: {value}")
        for note in report.notes:
            self._say(note)
        if not options["no_search_index"]:
            self._reindex()
        self._say(f"done in {time.perf_counter() - began:,.1f} s ({report.seconds})")

    def _reindex(self) -> None:
        # The search index (firstline.search) is rebuilt when that app is there.
        try:
            from firstline.search.services import reindex
        except ImportError:
            self._say("no search index (firstline.search): skipped")
            return
        began = time.perf_counter()
        written = reindex(kinds=("ticket", "article"), log=self._say)
        self._say(f"search index: {written:,} documents in {time.perf_counter() - began:,.1f} s")

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
