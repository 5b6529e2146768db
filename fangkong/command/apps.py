from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommandConfig(AppConfig):
    name = "fangkong.command"
    label = "command"
    verbose_name = _("Command")

    def ready(self) -> None:
        from fangkong.command import campaigns, planning  # noqa: F401 - registers their jobs
        from fangkong.core.navigation import NavItem, register
        from fangkong.core.roles import Capability

        register(NavItem(_("Dashboard"), "home", Capability.DASHBOARD_VIEW, order=10))
        register(NavItem(_("Scenario planning"), "command:plan", Capability.PLANNING_VIEW, order=60))
        register(NavItem(_("SMS campaign"), "command:campaign", Capability.MESSAGES_SEND, order=65))
