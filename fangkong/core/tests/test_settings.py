"""Configuration comes from the environment; a production configuration passes `check --deploy`."""

import os
import subprocess
import sys

import pytest


def run_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FANGKONG_", "DJANGO_ALLOW_ASYNC"))}
    return subprocess.run(
        [sys.executable, "-m", "fangkong.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_production_configuration_is_clean_under_check_deploy(tmp_path):
    result = run_check(
        {
            "FANGKONG_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-0123456789",
            "FANGKONG_ALLOWED_HOSTS": "fk.example.gov.cn",
            "FANGKONG_HTTPS": "1",
            "FANGKONG_VAR_DIR": str(tmp_path),
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_development_key_fails_check_deploy(tmp_path):
    result = run_check({"FANGKONG_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


def test_postgresql_options_from_the_url_are_kept_beside_prepared_statements() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'fangkong.settings'; "
        "from django.conf import settings; print(sorted(settings.DATABASES['default']['OPTIONS'].items()))"
    )
    env = {**os.environ, "DATABASE_URL": "postgres://u@127.0.0.1:5432/x?sslmode=require"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "('sslmode', 'require')" in out and "('server_side_binding', True)" in out
