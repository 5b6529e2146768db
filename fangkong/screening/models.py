"""The closed loop's ledger (摸清风险底数、不漏一人): everyone in the risk pool, their state, deadlines and history.

One open entry per person. Tracing, testing and quarantine move a person through the loop by calling
`screening.services`; this app imports none of them. The "nobody missed" report reads this ledger alone.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import Job, User, jurisdiction_key
from fangkong.people.models import Person


class Reason(models.TextChoices):
    ARRIVAL = "arrival", _("Arrival from a medium/high-risk area")
    CLOSE_CONTACT = "close_contact", _("Close contact")
    SECONDARY_CONTACT = "secondary_contact", _("Secondary contact")
    COMPANION = "companion", _("Spatio-temporal companion")
    POOL_POSITIVE = "pool_positive", _("In a positive pool")
    OTHER = "other", _("Other risk")


class LoopState(models.TextChoices):
    LISTED = "listed", _("Listed")
    LOCATED = "located", _("Located")
    TESTED = "tested", _("Tested")
    QUARANTINED_CENTRAL = "quarantined_central", _("In centralized quarantine")
    QUARANTINED_HOME = "quarantined_home", _("In home quarantine")
    HEALTH_MONITORING = "health_monitoring", _("Health monitoring")
    RELEASED = "released", _("Released")
    CLOSED = "closed", _("Closed")


OPEN_STATES = (
    LoopState.LISTED,
    LoopState.LOCATED,
    LoopState.TESTED,
    LoopState.QUARANTINED_CENTRAL,
    LoopState.QUARANTINED_HOME,
    LoopState.HEALTH_MONITORING,
)


class CloseReason(models.TextChoices):
    NOT_IN_CITY = "not_in_city", _("Not in the city")
    DUPLICATE = "duplicate", _("Duplicate")
    NOT_AT_RISK = "not_at_risk", _("Not at risk after checking")
    BECAME_CASE = "became_case", _("Became a case")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    POLICE = "police", _("Police big data")
    TELECOM = "telecom", _("Telecom operator")
    TRANSPORT = "transport", _("Transport operator")
    ASSISTANCE_NOTICE = "assistance_notice", _("Other city's assistance notice (协查函)")
    SELF_REPORT = "self_report", _("Self-report")
    MANUAL = "manual", _("Registered by a community worker")
    INVESTIGATION = "investigation", _("Epidemiological investigation")
    COMPANION_SCREENING = "companion_screening", _("Spatio-temporal companion screening")
    TESTING = "testing", _("Nucleic-acid testing")


class PoolEntry(models.Model):
    """A person's passage through the loop: listed → located → tested → quarantined or monitored → released,
    or closed with a reason. `division` is the community that owns the work, or the county's unlocated queue."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="pool_entries", verbose_name=_("person"))
    division = jurisdiction_key(_("responsible"))
    is_unlocated = models.BooleanField(_("unlocated"), default=False)
    reasons = models.JSONField(_("reasons"), default=list)
    state = models.CharField(_("state"), max_length=20, choices=LoopState.choices, default=LoopState.LISTED)
    close_reason = models.CharField(_("closed because"), max_length=20, choices=CloseReason.choices, blank=True)
    edition_id = models.CharField(_("policy edition"), max_length=20)
    listed_at = models.DateTimeField(_("listed"), db_index=True)
    locate_due = models.DateTimeField(_("locate by"))
    test_due = models.DateTimeField(_("test by"))
    located_at = models.DateTimeField(_("located"), null=True, blank=True)
    tested_at = models.DateTimeField(_("tested"), null=True, blank=True)
    quarantined_at = models.DateTimeField(_("quarantined"), null=True, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["locate_due", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(state__in=OPEN_STATES), name="pool_one_open_entry_per_person"
            )
        ]
        indexes = [models.Index(fields=["division", "state"], name="pool_division_state_idx")]
        verbose_name = _("risk-pool entry")
        verbose_name_plural = _("risk pool")

    def __str__(self) -> str:
        return f"{self.person_id} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class PoolEvent(models.Model):
    """The entry's history: every transition, source, contact attempt and reroute, in order."""

    SCOPE_FIELD: ClassVar[str] = "entry__division__path"

    entry = models.ForeignKey(PoolEntry, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    kind = models.CharField(_("kind"), max_length=20)
    from_state = models.CharField(_("from"), max_length=20, blank=True)
    to_state = models.CharField(_("to"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("risk-pool event")
        verbose_name_plural = _("risk-pool events")

    def __str__(self) -> str:
        return f"{self.kind} {self.from_state}→{self.to_state}"


class RiskReport(models.Model):
    """One mention of a person as at risk: a list row, a self-report, an investigation finding."""

    SCOPE_FIELD: ClassVar[str] = "entry__division__path"

    entry = models.ForeignKey(PoolEntry, on_delete=models.CASCADE, related_name="reports")
    source = models.CharField(_("source"), max_length=30, choices=Source.choices)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    origin_code = models.CharField(_("from (code)"), max_length=12, blank=True)
    origin_name = models.CharField(_("from"), max_length=100, blank=True)
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    data = models.JSONField(_("as reported (masked)"), default=dict)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "reference"], condition=~Q(reference=""), name="risk_report_unique_reference"
            )
        ]
        verbose_name = _("risk report")
        verbose_name_plural = _("risk reports")

    def __str__(self) -> str:
        return f"{self.source} {self.reference}"


class Outcome(models.TextChoices):
    LOCATED_HOME = "located_home", _("Located at home")
    LOCATED_ELSEWHERE = "located_elsewhere", _("Located at another address")
    LEFT_CITY = "left_city", _("Left the city")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    NO_ANSWER = "no_answer", _("No answer")
    REFUSED = "refused", _("Refused")


class ContactAttempt(models.Model):
    SCOPE_FIELD: ClassVar[str] = "entry__division__path"

    entry = models.ForeignKey(PoolEntry, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact attempts")

    def __str__(self) -> str:
        return f"{self.entry_id} {self.outcome}"


class ListLayout(models.Model):
    """How one source's files are laid out: which column holds which field. Remembered per source name."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    division = jurisdiction_key()
    name = models.CharField(_("source name"), max_length=100)
    source = models.CharField(_("source"), max_length=30, choices=Source.choices)
    mapping = models.JSONField(_("column mapping"), default=dict)  # field → column header
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["division", "name"], name="list_layout_unique_name")]
        verbose_name = _("list layout")
        verbose_name_plural = _("list layouts")

    def __str__(self) -> str:
        return self.name


class ListImport(models.Model):
    """An uploaded list: the file (by content hash, so the same file twice is one import), its layout, the job
    that imports it, and the outcome with the per-row error report."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    division = jurisdiction_key()
    layout = models.ForeignKey(ListLayout, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(_("source"), max_length=30, choices=Source.choices)
    file_name = models.CharField(_("file"), max_length=255)
    file_path = models.CharField(_("stored at"), max_length=500)
    sha256 = models.CharField(_("content hash"), max_length=64)
    size = models.PositiveBigIntegerField(_("size"))
    rows = models.PositiveIntegerField(_("rows"), default=0)
    errors = models.PositiveIntegerField(_("rows with errors"), default=0)
    created = models.PositiveIntegerField(_("new in the pool"), default=0)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)
    uploaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]
        constraints = [models.UniqueConstraint(fields=["division", "sha256"], name="list_import_unique_file")]
        verbose_name = _("list import")
        verbose_name_plural = _("list imports")

    def __str__(self) -> str:
        return self.file_name


class SelfReport(models.Model):
    """A resident's own report of arriving from a risk area (public page, phone verified by a one-time code).
    The confirmation number is what the resident keeps; the report is also a RiskReport on the ledger."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    confirmation = models.CharField(_("confirmation number"), max_length=20, unique=True)
    division = jurisdiction_key(_("community"))
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    entry = models.ForeignKey(PoolEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    origin_name = models.CharField(_("coming from"), max_length=100)
    arrived_on = models.DateField(_("arrival date"))
    address = models.CharField(_("address"), max_length=300)
    phone_verified = models.BooleanField(_("phone verified"), default=False)
    created_at = models.DateTimeField(_("reported"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("self-report")
        verbose_name_plural = _("self-reports")

    def __str__(self) -> str:
        return self.confirmation
