from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "fangkong.people"
    label = "people"
    verbose_name = _("People")

    def ready(self) -> None:
        from fangkong.core.navigation import NavItem, register
        from fangkong.core.roles import Capability

        register(NavItem(_("People"), "people:search", Capability.PEOPLE_VIEW, order=20))
        register(NavItem(_("Merge queue"), "people:merge_queue", Capability.PEOPLE_MERGE, order=30))
