from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TracingConfig(AppConfig):
    name = "fangkong.tracing"
    label = "tracing"
    verbose_name = _("Cases and tracing")

    def ready(self) -> None:
        from fangkong.core.navigation import NavItem, register
        from fangkong.core.roles import Capability
        from fangkong.tracing import companions, tasks  # noqa: F401 - register their jobs

        register(NavItem(_("Cases"), "tracing:case_list", Capability.TRACING_VIEW, order=35))
        register(NavItem(_("Chains"), "tracing:chains", Capability.TRACING_VIEW, order=36))
