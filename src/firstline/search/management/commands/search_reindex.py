import time

from django.core.management.base import BaseCommand

from firstline.search import services
from firstline.search.models import Kind


class Command(BaseCommand):
    help = "Rebuilds the search index of tickets (and articles) from the database."

    def add_arguments(self, parser):
        parser.add_argument(
            "--kind", action="append", choices=Kind.values, help="ticket (default) and/or article"
        )
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, kind=None, batch_size=2000, **options):
        began = time.perf_counter()
        written = services.reindex(
            kinds=tuple(kind or [Kind.TICKET]), batch_size=batch_size, log=self.stdout.write
        )
        elapsed = time.perf_counter() - began
        self.stdout.write(f"Indexed {written} documents in {elapsed:.1f} s.")
