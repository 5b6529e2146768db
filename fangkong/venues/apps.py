from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VenuesConfig(AppConfig):
    name = "fangkong.venues"
    label = "venues"
    verbose_name = _("Venues and check-ins")

    def ready(self) -> None:
        """Navigation entries and job handlers are registered here as the app's pages and jobs land."""
