from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "fangkong.notify"
    label = "notify"
    verbose_name = _("Messages")

    def ready(self) -> None:
        from fangkong.core.navigation import NavItem, register
        from fangkong.core.roles import Capability

        register(NavItem(_("Messages"), "notify:message_list", Capability.MESSAGES_VIEW, order=70))
