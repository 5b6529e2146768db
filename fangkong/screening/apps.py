from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "fangkong.screening"
    label = "screening"
    verbose_name = _("Risk screening")

    def ready(self) -> None:
        from fangkong.core.navigation import NavItem, register
        from fangkong.core.roles import Capability

        register(NavItem(_("Work list"), "screening:work_list", Capability.SCREENING_WORK, order=40))
        register(NavItem(_("Nobody missed"), "screening:report", Capability.SCREENING_VIEW, order=45))
        register(NavItem(_("Self-reports"), "selfreport:list", Capability.SCREENING_VIEW, order=46))
        register(NavItem(_("List imports"), "screening:imports:list", Capability.SCREENING_IMPORT, order=47))

        from fangkong.screening.imports import tasks  # noqa: F401 - registers the import job handler
