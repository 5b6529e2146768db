from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "fangkong.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from fangkong.core.audit_lock import configure_connection
        from fangkong.core.navigation import NavItem, register

        connection_created.connect(configure_connection, dispatch_uid="fangkong_audit_lock")
        from fangkong.core import tasks  # noqa: F401 - registers the job handlers
        from fangkong.core.roles import Capability

        register(NavItem(_("Divisions"), "core:divisions", Capability.DIVISIONS_VIEW, order=80))
        register(NavItem(_("Jobs"), "core:job_list", Capability.JOBS_VIEW, order=85))
        register(NavItem(_("Audit log"), "core:audit_log", Capability.AUDIT_VIEW, order=90))
