"""Roles and what each may do: the one table of capabilities.

A view or API operation declares the capability it needs (`@requires(Capability.PEOPLE_VIEW)`); a role is a set
of capabilities. Jurisdiction (which records) is a separate axis handled by `core.scope`.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITY_HQ = "city_hq", _("City HQ")
    COUNTY_HQ = "county_hq", _("County HQ")
    STREET_OFFICE = "street_office", _("Street / township office")
    COMMUNITY_WORKER = "community_worker", _("Village / community worker")
    POLICE_ANALYST = "police_analyst", _("Police data analyst")
    HEALTH_DEPARTMENT = "health_department", _("Health department")
    LAB = "lab", _("Laboratory")
    HOSPITAL = "hospital", _("Hospital")
    QUARANTINE_SITE_MANAGER = "quarantine_site_manager", _("Quarantine-site manager")
    CHECKPOINT_STAFF = "checkpoint_staff", _("Checkpoint staff")
    SUPERVISOR = "supervisor", _("Read-only supervisor")
    API_CLIENT = "api_client", _("API client")


class Capability(StrEnum):
    DASHBOARD_VIEW = "dashboard.view"
    PEOPLE_VIEW = "people.view"
    PEOPLE_EDIT = "people.edit"
    PEOPLE_REVEAL = "people.reveal"
    PEOPLE_MERGE = "people.merge"
    PEOPLE_EXPORT = "people.export"
    DIVISIONS_VIEW = "divisions.view"
    DIVISIONS_MANAGE = "divisions.manage"
    AUDIT_VIEW = "audit.view"
    JOBS_VIEW = "jobs.view"
    MESSAGES_VIEW = "messages.view"
    MESSAGES_SEND = "messages.send"
    API_TOKENS_MANAGE = "api_tokens.manage"
    POLICY_MANAGE = "policy.manage"
    SCREENING_VIEW = "screening.view"
    SCREENING_WORK = "screening.work"
    SCREENING_IMPORT = "screening.import"
    TRACING_VIEW = "tracing.view"
    TRACING_WORK = "tracing.work"
    PLANNING_VIEW = "planning.view"
    PLANNING_RUN = "planning.run"
    TESTING_VIEW = "testing.view"
    TESTING_SAMPLE = "testing.sample"
    TESTING_LAB = "testing.lab"
    TESTING_MANAGE = "testing.manage"
    CERTIFICATE_VERIFY = "certificates.verify"
    QUARANTINE_VIEW = "quarantine.view"
    QUARANTINE_WORK = "quarantine.work"
    QUARANTINE_MANAGE = "quarantine.manage"
    VENUES_VIEW = "venues.view"
    VENUES_MANAGE = "venues.manage"


C = Capability

_READ = frozenset({C.DASHBOARD_VIEW, C.PEOPLE_VIEW, C.DIVISIONS_VIEW, C.JOBS_VIEW})
_WORK = _READ | {C.PEOPLE_EDIT, C.PEOPLE_EXPORT, C.SCREENING_VIEW, C.SCREENING_WORK, C.TRACING_VIEW}

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.CITY_HQ: frozenset(Capability),
    Role.COUNTY_HQ: _WORK
    | {C.PEOPLE_REVEAL, C.PEOPLE_MERGE, C.AUDIT_VIEW, C.MESSAGES_VIEW, C.MESSAGES_SEND, C.SCREENING_IMPORT}
    | {C.TRACING_VIEW, C.TRACING_WORK}
    | {C.PLANNING_VIEW, C.PLANNING_RUN}
    | {C.TESTING_VIEW, C.TESTING_MANAGE, C.QUARANTINE_VIEW, C.QUARANTINE_WORK, C.QUARANTINE_MANAGE}
    | {C.VENUES_VIEW, C.VENUES_MANAGE},
    Role.STREET_OFFICE: _WORK
    | {C.PEOPLE_REVEAL, C.PEOPLE_MERGE, C.MESSAGES_VIEW}
    | {C.TESTING_VIEW, C.TESTING_SAMPLE, C.QUARANTINE_VIEW, C.QUARANTINE_WORK}
    | {C.VENUES_VIEW, C.VENUES_MANAGE},
    Role.COMMUNITY_WORKER: _WORK
    | {C.PEOPLE_REVEAL}
    | {C.TESTING_VIEW, C.TESTING_SAMPLE, C.QUARANTINE_VIEW, C.QUARANTINE_WORK}
    | {C.VENUES_VIEW, C.VENUES_MANAGE},
    Role.POLICE_ANALYST: _READ
    | {C.PEOPLE_EDIT, C.PEOPLE_REVEAL, C.PEOPLE_MERGE, C.PEOPLE_EXPORT, C.SCREENING_VIEW, C.SCREENING_IMPORT}
    | {C.TRACING_VIEW, C.VENUES_VIEW, C.VENUES_MANAGE},
    Role.HEALTH_DEPARTMENT: _READ
    | {C.PEOPLE_EXPORT, C.MESSAGES_VIEW, C.PLANNING_VIEW, C.PLANNING_RUN, C.SCREENING_VIEW}
    | {C.TRACING_VIEW, C.TRACING_WORK}
    | {C.TESTING_VIEW, C.TESTING_LAB, C.TESTING_MANAGE, C.QUARANTINE_VIEW, C.QUARANTINE_MANAGE}
    | {C.VENUES_VIEW},
    Role.LAB: frozenset({C.DASHBOARD_VIEW, C.PEOPLE_VIEW, C.JOBS_VIEW, C.TESTING_VIEW, C.TESTING_LAB}),
    Role.HOSPITAL: frozenset({C.DASHBOARD_VIEW, C.PEOPLE_VIEW, C.TESTING_VIEW, C.TESTING_SAMPLE}),
    Role.QUARANTINE_SITE_MANAGER: frozenset(
        {C.DASHBOARD_VIEW, C.PEOPLE_VIEW, C.TESTING_VIEW, C.TESTING_SAMPLE}
        | {C.QUARANTINE_VIEW, C.QUARANTINE_WORK, C.QUARANTINE_MANAGE}
    ),
    Role.CHECKPOINT_STAFF: frozenset({C.DASHBOARD_VIEW, C.PEOPLE_VIEW, C.CERTIFICATE_VERIFY}),
    Role.SUPERVISOR: _READ
    | {C.AUDIT_VIEW, C.MESSAGES_VIEW, C.PLANNING_VIEW, C.SCREENING_VIEW, C.TRACING_VIEW}
    | {C.TESTING_VIEW, C.QUARANTINE_VIEW, C.VENUES_VIEW},
    Role.API_CLIENT: frozenset(
        {C.PEOPLE_VIEW, C.PEOPLE_EDIT, C.DIVISIONS_VIEW, C.TESTING_SAMPLE, C.TESTING_LAB, C.CERTIFICATE_VERIFY}
    ),
}


def capabilities_of(role: str) -> frozenset[Capability]:
    return ROLE_CAPABILITIES.get(role, frozenset())
