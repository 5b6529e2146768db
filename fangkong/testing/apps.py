from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TestingConfig(AppConfig):
    name = "fangkong.testing"
    label = "testing"
    verbose_name = _("Nucleic-acid testing")

    def ready(self) -> None:
        """Navigation entries and job handlers are registered here as the app's pages and jobs land."""
        from fangkong.testing.coverage import services as coverage_services  # noqa: F401 - registers its job
