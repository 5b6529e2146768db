from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.core.models import User
from fangkong.core.tokens import issue_token


class Command(BaseCommand):
    help = "Issue an API token for a user (printed once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args: object, username: str, name: str, **options: object) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        _token, secret = issue_token(user, name=name, by=None)
        self.stdout.write(secret)
