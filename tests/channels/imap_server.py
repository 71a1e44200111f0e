"""A private Dovecot IMAP server for the tests: its own config, directories and port.

Nothing of the system's Dovecot is used (no /etc/dovecot, no systemd): `start()` writes a
dovecot.conf into a temporary directory and runs `dovecot -F` as a child process, so the tests
own it and stop it. Users live in a passwd-file that `add_user()` appends to; Dovecot rereads it
when it changes (at most once a second). Works as root (the mail files then belong to `nobody`,
the helper processes to the package's `dovecot`/`dovenull` users) and as an ordinary user
(everything runs as that user).
"""

import contextlib
import grp
import imaplib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT = 10.0
POOL_SIZE = 100  # accounts ready at start-up, see add_user()


def find_dovecot() -> str | None:
    """The dovecot binary, also when /usr/sbin is not on an ordinary user's PATH."""
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _identity() -> dict[str, str]:
    """Who runs what: Dovecot refuses mail access as uid 0 and helper processes as root."""
    if os.geteuid() != 0:
        user = pwd.getpwuid(os.geteuid()).pw_name
        return {
            "internal_user": user,
            "internal_group": grp.getgrgid(os.getegid()).gr_name,
            "login_user": user,
            "mail_uid": str(os.geteuid()),
            "mail_gid": str(os.getegid()),
            "login_chroot": "",  # chroot needs root
        }
    for name in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            raise RuntimeError(
                f"The system user {name!r} is missing: install Dovecot with apt-get "
                "(dovecot-imapd), which creates it."
            ) from None
    nobody = pwd.getpwnam("nobody")
    return {
        "internal_user": "dovecot",
        "internal_group": "dovecot",
        "login_user": "dovenull",
        "mail_uid": str(nobody.pw_uid),
        "mail_gid": str(nobody.pw_gid),
        "login_chroot": "login",
    }


CONFIG = """\
protocols = imap
listen = {host}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={dir}/home/%u
}}
service imap-login {{
  chroot = {login_chroot}
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # No growing delay after failed logins (the tests try wrong passwords on purpose).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


@dataclass
class DovecotServer:
    directory: Path
    port: int
    process: subprocess.Popen
    host: str = HOST
    _pool: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_user(self, name: str | None = None, password: str | None = None) -> tuple[str, str]:
        """Creates a mail account; returns (username, password).

        Dovecot looks at its passwd-file at most once a second, so a user appended now may
        be unknown for up to a second: unnamed users come from a pool written before the
        start; a named one is appended and waited for.
        """
        with self._lock:
            if name is None and password is None and self._pool:
                return self._pool.pop(0)
        name = name or f"user-{secrets.token_hex(4)}"
        password = password or secrets.token_urlsafe(12)
        _append_user(self.directory, name, password)
        deadline = time.monotonic() + 5
        while True:
            try:
                self.client(name, password).logout()
                return name, password
            except imaplib.IMAP4.error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def client(self, username: str, password: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(username, password)
        return client

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.directory / "dovecot.log").read_text(errors="replace")
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies (Linux), so a killed run leaves no
    Dovecot behind."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _append_user(directory: Path, name: str, password: str) -> None:
    with open(directory / "passwd", "a") as passwd:
        passwd.write(f"{name}:{{PLAIN}}{password}::::::\n")


def _wait_until_ready(server: DovecotServer, deadline: float) -> bool:
    """True once the server greets on its port; False when the process died."""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with socket.create_connection((server.host, server.port), timeout=1) as sock:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                if sock.recv(64).startswith(b"* OK"):
                    with contextlib.suppress(OSError):
                        sock.sendall(b"a LOGOUT\r\n")
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"Dovecot did not accept connections within {START_TIMEOUT:.0f} s.")


def start(binary: str | None = None, attempts: int = 3) -> DovecotServer:
    """Starts a private Dovecot; retries with another port if the chosen one got taken."""
    binary = binary or find_dovecot()
    if binary is None:
        raise RuntimeError("Dovecot is not installed (apt-get install dovecot-imapd).")
    identity = _identity()
    last_log = ""
    for _ in range(attempts):
        directory = Path(tempfile.mkdtemp(prefix="firstline-dovecot-"))
        # The auth process (internal user) reads the passwd-file, the mail processes create
        # the homes: as root these are other users than the owner of the directory.
        directory.chmod(0o755)
        (directory / "home").mkdir()
        (directory / "passwd").touch(mode=0o644)
        pool = [(f"pool{n}", secrets.token_urlsafe(12)) for n in range(1, POOL_SIZE + 1)]
        for name, password in pool:
            _append_user(directory, name, password)
        if os.geteuid() == 0:
            os.chown(directory / "home", int(identity["mail_uid"]), int(identity["mail_gid"]))
        port = _free_port()
        (directory / "dovecot.conf").write_text(
            CONFIG.format(host=HOST, port=port, dir=directory, **identity)
        )
        with open(directory / "stderr.log", "wb") as stderr:
            process = subprocess.Popen(
                [binary, "-F", "-c", str(directory / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                preexec_fn=_die_with_parent,
            )
        server = DovecotServer(directory=directory, port=port, process=process, _pool=pool)
        try:
            ready = _wait_until_ready(server, time.monotonic() + START_TIMEOUT)
        except BaseException as exc:
            log = server.log()
            server.stop()
            if isinstance(exc, RuntimeError):
                raise RuntimeError(f"{exc}\n{log}") from None
            raise
        if ready:
            return server
        last_log = server.log() + (directory / "stderr.log").read_text(errors="replace")
        server.stop()
    raise RuntimeError(f"Dovecot exited at start-up:\n{last_log}")
