from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TestingConfig(AppConfig):
    name = "fangkong.testing"
    label = "testing"
    verbose_name = _("Nucleic-acid testing")

    def ready(self) -> None:
        """Navigation entries and job handlers are registered here as the app's pages and jobs land."""
        from fangkong.core.navigation import NavItem, register
        from fangkong.core.roles import Capability
        from fangkong.testing.coverage import services as coverage_services  # noqa: F401 - registers its job

        register(NavItem(_("Sampling"), "testing:station", Capability.TESTING_SAMPLE, order=50))
        register(NavItem(_("Tubes"), "testing:tubes", Capability.TESTING_VIEW, order=51))
        register(NavItem(_("Handovers"), "testing:handovers", Capability.TESTING_VIEW, order=52))
        register(NavItem(_("Lab results"), "testing:result_upload", Capability.TESTING_LAB, order=53))
        register(NavItem(_("Recall"), "testing:recalls", Capability.TESTING_VIEW, order=54))
        register(NavItem(_("Rounds"), "testing:rounds", Capability.TESTING_VIEW, order=55))
        register(NavItem(_("Capacity planner"), "capacity:planner", Capability.TESTING_VIEW, order=56))
        register(NavItem(_("Verify certificate"), "certificates:verify", Capability.CERTIFICATE_VERIFY, order=57))
