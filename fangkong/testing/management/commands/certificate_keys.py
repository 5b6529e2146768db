"""`fangkong certificate-keys list|generate|activate|retire|remove` — the certificate signing keys.

Rotation: `generate` (published, not signing) → wait until checkpoint devices refreshed the key set →
`activate NEW` → `retire OLD` (no longer signs; still verifies what it signed) → after the validity window,
`remove OLD`. See fangkong/testing/certificates/keys.py."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.core.errors import DomainError
from fangkong.testing.certificates import keys


class Command(BaseCommand):
    help = "Manage the Ed25519 keys that sign test certificates."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="list keys: kid, created, signing or not")
        generate = sub.add_parser("generate", help="make a new key (published at once)")
        generate.add_argument("--activate", action="store_true", help="sign with it from now on")
        for name, text in (
            ("activate", "sign with this key from now on"),
            ("retire", "delete the private key; keep publishing the public key"),
            ("remove", "stop publishing a retired key"),
        ):
            sub.add_parser(name, help=text).add_argument("kid")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "generate":
                kid = keys.generate_key(activate=options["activate"])
                self.stdout.write(f"generated {kid} in {keys.keys_dir()}")
            elif action == "activate":
                keys.activate_key(options["kid"])
                self.stdout.write(f"{options['kid']} now signs certificates")
            elif action == "retire":
                keys.retire_key(options["kid"])
                self.stdout.write(f"{options['kid']} retired (still published)")
            elif action == "remove":
                keys.remove_key(options["kid"])
                self.stdout.write(f"{options['kid']} no longer published")
        except DomainError as error:
            raise CommandError(str(error.message)) from error
        for info in keys.list_keys():
            flags = ["active" if info.is_active else "", "can sign" if info.can_sign else "verify only", info.source]
            self.stdout.write(f"{info.kid}  {info.created_at:%Y-%m-%d %H:%M}Z  {', '.join(f for f in flags if f)}")
