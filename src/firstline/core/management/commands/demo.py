import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from firstline.core.demo import DEMO_PASSWORD, load_demo_data


class Command(BaseCommand):
    help = "Migrate, load the demo data (once) and serve it with a background worker."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="Only migrate and load.")
        parser.add_argument("--addr", default="127.0.0.1")
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))

    def handle(self, *args, no_serve, addr, port, **options):
        call_command("migrate", interactive=False, verbosity=0)
        logins = load_demo_data(stdout=self.stdout)
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for username, description in logins:
            self.stdout.write(f"  {username:<14} {description}")
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            self.stdout.write(f"\nE-mail notifications are written to {settings.EMAIL_FILE_PATH}/")
        if no_serve:
            return
        self.stdout.write(
            f"\nServing on http://{addr}:{port}/ — Ctrl-C stops the server and worker."
        )
        worker = subprocess.Popen([sys.executable, "-m", "firstline", "worker"])
        try:
            call_command("runserver", f"{addr}:{port}", use_reloader=False)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
