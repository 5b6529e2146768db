from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VenuesConfig(AppConfig):
    name = "fangkong.venues"
    label = "venues"
    verbose_name = _("Venues and check-ins")

    def ready(self) -> None:
        from fangkong.core.navigation import NavItem, register
        from fangkong.core.roles import Capability
        from fangkong.venues import tasks  # noqa: F401 - registers the import job handler

        register(NavItem(_("Venues"), "venues:list", Capability.VENUES_VIEW, order=38))
