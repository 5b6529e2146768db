"""The demo: every printed account reaches its dashboard and the person search, in Chinese and English."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from fangkong.command.loader import DEMO_PASSWORD
from fangkong.core.models import User
from fangkong.people.models import Person


@pytest.fixture
def demo(db, settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("demo", "--no-serve", "--people", "10000", "--days", "14")
    return capsys.readouterr().out


def test_every_demo_login_sees_its_dashboard_and_search_and_a_rerun_adds_nothing(client, demo):
    assert "Bearer fk_" in demo
    usernames = [line.split()[0] for line in demo.splitlines() if line.startswith("  ") and "·" in line]
    assert len(usernames) == 12
    for username in usernames:
        assert client.login(username=username, password=DEMO_PASSWORD), username
        home = client.get("/")
        assert home.status_code == 200 and "仪表盘" in home.content.decode(), username
        search = client.get("/people/", {"q": "1"})
        assert search.status_code == 200, username
        user = User.objects.get(username=username)
        if user.division.level == "community":
            assert Person.objects.filter(home_division=user.division).count() > 0
        client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        assert "Dashboard" in client.get("/").content.decode()
        client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
        client.logout()

    people = Person.objects.count()  # a second demo start loads nothing new
    call_command("demo", "--no-serve", "--people", "10000", "--days", "14")
    assert Person.objects.count() == people
