"""Core tables: the jurisdiction tree, organisations, users, API tokens, the audit log and background jobs."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.roles import Capability, Role, capabilities_of


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County / district")
    STREET = "street", _("Township / street")
    COMMUNITY = "community", _("Village / community")


class Division(models.Model):
    """A node of the administrative tree.

    `path` is the significant prefix of the statistical code (city '4103', county '410302', street
    '410302001', community '410302001001'). Levels have fixed widths, so "every record below this node" is a
    single indexed `path LIKE 'prefix%'` — the materialized path the scope mechanism relies on.
    """

    SCOPE_FIELD: ClassVar[str] = "path"

    code = models.CharField(_("division code"), max_length=12, unique=True)
    path = models.CharField(_("path"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    population = models.PositiveIntegerField(_("registered population"), null=True, blank=True)
    boundary = models.JSONField(_("boundary (GeoJSON geometry)"), null=True, blank=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("division")
        verbose_name_plural = _("divisions")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_village(self) -> bool:
        return self.level == DivisionLevel.COMMUNITY and 200 <= int(self.code[-3:]) <= 399


def jurisdiction_key(verbose_name: Any = None, *, null: bool = False, related_name: str | None = None) -> Any:
    """The column that places a record in the administrative tree: a foreign key to Division by its path, stored
    as the path itself, so the scope filter (`path LIKE 'prefix%'`) needs no join. Use it as SCOPE_FIELD's base
    (SCOPE_FIELD = "division__path")."""
    return models.ForeignKey(
        "core.Division",
        to_field="path",
        db_column="division_path",
        null=null,
        blank=null,
        on_delete=models.PROTECT,
        related_name=related_name,
        verbose_name=verbose_name,
    )


class OrganizationKind(models.TextChoices):
    HQ_OFFICE = "hq_office", _("HQ office")
    DEPARTMENT = "department", _("Department")
    POLICE_UNIT = "police_unit", _("Police unit")
    HOSPITAL = "hospital", _("Hospital")
    LAB = "lab", _("Laboratory")
    QUARANTINE_SITE = "quarantine_site", _("Quarantine site")
    CHECKPOINT = "checkpoint", _("Checkpoint")
    STREET_OFFICE = "street_office", _("Street / township office")
    COMMUNITY_OFFICE = "community_office", _("Community / village committee")


class Organization(models.Model):
    SCOPE_FIELD: ClassVar[str] = "division__path"

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganizationKind.choices)
    division = jurisdiction_key(_("division"))

    class Meta:
        ordering = ["division_id", "name"]
        constraints = [models.UniqueConstraint(fields=["division", "name"], name="organization_unique_name")]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A staff account: one role and one jurisdiction (the node whose subtree it may see)."""

    role = models.CharField(_("role"), max_length=30, choices=Role.choices, default=Role.SUPERVISOR)
    division = models.ForeignKey(
        Division,
        to_field="path",
        db_column="division_path",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name=_("jurisdiction"),
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("organisation")
    )
    phone = models.CharField(_("mobile"), max_length=11, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def capabilities(self) -> frozenset[Capability]:
        if not self.is_active:
            return frozenset()
        return capabilities_of(self.role)

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @property
    def scope_path(self) -> str | None:
        """The jurisdiction prefix; None means the user sees no records at all."""
        return self.division_id


class ApiToken(models.Model):
    """A machine client's bearer token. Only a SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=8, db_index=True)
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEntry(models.Model):
    """One row per change or reveal of person-related data. Append-only: database triggers refuse UPDATE and
    DELETE (see the migration), the admin offers no change or delete, and the API has no write endpoint."""

    SCOPE_FIELD: ClassVar[str] = "division_path"

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("actor")
    )
    actor_label = models.CharField(_("actor"), max_length=150)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    target_type = models.CharField(_("record type"), max_length=60)
    target_id = models.CharField(_("record"), max_length=64, db_index=True)
    division_path = models.CharField(_("jurisdiction"), max_length=12, blank=True, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    origin = models.CharField(_("origin"), max_length=20)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    request_id = models.CharField(_("request"), max_length=36, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_type}:{self.target_id}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    """A background job as users see it: kind, progress, result. The task queue (django-tasks) only carries
    the job's id; a job's handler checkpoints into `state` so that a run interrupted by a restart resumes."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=60)
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params = models.JSONField(_("parameters"), default=dict)
    state = models.JSONField(_("checkpoint"), default=dict)
    result = models.JSONField(_("result"), default=dict)
    error = models.TextField(_("error"), blank=True)
    done = models.PositiveBigIntegerField(_("done"), default=0)
    total = models.PositiveBigIntegerField(_("total"), default=0)
    message = models.CharField(_("message"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    division = models.ForeignKey(
        Division, to_field="path", db_column="division_path", null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"

    @property
    def percent(self) -> int:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.SUCCEEDED, JobStatus.FAILED}


class PolicySetting(models.Model):
    """Which policy edition a city runs, with its local overrides (e.g. a 4-day look-back instead of 2).

    One row per change; the newest row for a city is in force, so the history of settings is kept."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    division = jurisdiction_key(_("city"))
    edition_id = models.CharField(_("edition"), max_length=20)
    overrides = models.JSONField(_("local overrides"), default=dict, blank=True)
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("changed"), auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("policy setting")
        verbose_name_plural = _("policy settings")

    def __str__(self) -> str:
        return f"{self.division_id}: {self.edition_id}"
