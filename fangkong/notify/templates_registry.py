"""Message templates: the texts the platform sends, translatable, with named placeholders."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

TEMPLATES: dict[str, Promise] = {
    "otp": _("Your verification code is %(code)s. It is valid for %(minutes)s minutes. Do not share it."),
    "notice": _("%(text)s"),
    "test_reminder": _("Please take your nucleic-acid test today at %(place)s."),
    "quarantine_check_in": _(
        "Quarantine health check (%(slot)s): please report your temperature and symptoms: %(url)s"
    ),
    "quarantine_alert": _("Quarantine alert at %(site)s, room %(room)s: %(kind)s. Please see the resident now."),
}


def render_template(name: str, context: dict[str, object]) -> str:
    try:
        text = TEMPLATES[name]
    except KeyError as error:
        raise KeyError(f"unknown message template {name!r}") from error
    return str(text) % context
