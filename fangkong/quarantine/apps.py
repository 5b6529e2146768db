from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuarantineConfig(AppConfig):
    name = "fangkong.quarantine"
    label = "quarantine"
    verbose_name = _("Quarantine")

    def ready(self) -> None:
        """Navigation entries and job handlers are registered here as the app's pages and jobs land."""
        from fangkong.core.navigation import NavItem, register
        from fangkong.core.roles import Capability
        from fangkong.quarantine import tasks  # noqa: F401 - registers the periodic check-in links and missed tests

        register(NavItem(_("Quarantine sites"), "quarantine:site_list", Capability.QUARANTINE_VIEW, order=50))
        register(NavItem(_("Placement"), "quarantine:queue", Capability.QUARANTINE_VIEW, order=51))
        register(NavItem(_("Monitoring"), "quarantine:monitoring", Capability.QUARANTINE_VIEW, order=52))
        register(NavItem(_("Occupancy"), "quarantine:occupancy", Capability.QUARANTINE_VIEW, order=53))
