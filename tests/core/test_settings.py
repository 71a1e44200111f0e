import os
import subprocess
import sys


def settings_check(tmp_path, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    environ |= {"FIRSTLINE_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "firstline", "check"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secret_key_is_required_in_production(tmp_path):
    result = settings_check(tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_demo_generates_and_keeps_a_secret_key(tmp_path):
    assert settings_check(tmp_path, DEBUG="true").returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert settings_check(tmp_path, DEBUG="true").returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
