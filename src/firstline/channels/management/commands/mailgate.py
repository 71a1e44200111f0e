"""For an MTA pipe: read one message on stdin and post it to the inbound endpoint.

Exit codes follow sysexits.h so that the MTA does the right thing: 0 delivered, 75
(EX_TEMPFAIL) try again later, 64 (EX_USAGE) misconfigured, 65 (EX_DATAERR) never takeable.
"""

import os
import sys
import urllib.error
import urllib.request

from django.core.management.base import BaseCommand

EX_OK, EX_USAGE, EX_DATAERR, EX_TEMPFAIL = 0, 64, 65, 75


class Command(BaseCommand):
    help = "Post a message read on stdin to Firstline's inbound endpoint (for an MTA pipe)."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default=os.environ.get("FIRSTLINE_URL", "http://127.0.0.1:8000"),
            help="Base URL of Firstline (env FIRSTLINE_URL).",
        )
        parser.add_argument(
            "--token",
            default=os.environ.get("FIRSTLINE_MAILBOX_TOKEN", ""),
            help="The mailbox's inbound token (env FIRSTLINE_MAILBOX_TOKEN).",
        )
        parser.add_argument("--timeout", type=float, default=60)

    def handle(self, *args, url, token, timeout, **options):
        if not token:
            self.stderr.write("mailgate: no mailbox token (--token or FIRSTLINE_MAILBOX_TOKEN)")
            sys.exit(EX_USAGE)
        raw = sys.stdin.buffer.read()
        request = urllib.request.Request(
            url.rstrip("/") + "/api/v1/channels/email/inbound",
            data=raw,
            method="POST",
            headers={"Content-Type": "message/rfc822", "Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                self.stdout.write(response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            self.stderr.write(f"mailgate: server answered {exc.code}")
            if exc.code in (401, 403, 404):
                sys.exit(EX_USAGE)
            sys.exit(EX_DATAERR if exc.code in (413, 415, 422) else EX_TEMPFAIL)
        except (urllib.error.URLError, OSError) as exc:
            self.stderr.write(f"mailgate: cannot reach the server: {exc}")
            sys.exit(EX_TEMPFAIL)
        sys.exit(EX_OK)
