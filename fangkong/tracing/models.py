"""Cases, their epidemiological investigations (流调) and contacts (密接, 次密接)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import User, jurisdiction_key
from fangkong.people.models import Person


class CaseKind(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed case")
    ASYMPTOMATIC = "asymptomatic", _("Asymptomatic infection")


class Case(models.Model):
    SCOPE_FIELD: ClassVar[str] = "division__path"

    number = models.CharField(_("case number"), max_length=20, unique=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    division = jurisdiction_key(_("community"))
    kind = models.CharField(_("kind"), max_length=15, choices=CaseKind.choices)
    onset_date = models.DateField(_("symptom onset"), null=True, blank=True)
    first_positive_at = models.DateTimeField(_("first positive sample"))
    reported_at = models.DateTimeField(_("reported"))
    edition_id = models.CharField(_("policy edition"), max_length=20)
    source_case = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="infected", verbose_name=_("infected by")
    )
    cluster = models.CharField(_("cluster"), max_length=60, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-reported_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["person"], name="case_one_per_person")]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return self.number


class Clock(models.TextChoices):
    """The investigation clocks cities ran on — Taizhou's "1357"; hours come from the policy edition."""

    TRAJECTORY = "trajectory", _("Trajectory")
    REVIEW = "review", _("Review")
    ZONING = "zoning", _("Risk-zoning proposal")
    CONTACT_LISTS = "contact_lists", _("Close and secondary contact lists")


class InvestigationClock(models.Model):
    SCOPE_FIELD: ClassVar[str] = "case__division__path"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clocks")
    clock = models.CharField(_("clock"), max_length=20, choices=Clock.choices)
    due_at = models.DateTimeField(_("due"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["case", "clock"], name="investigation_clock_unique")]
        verbose_name = _("investigation clock")
        verbose_name_plural = _("investigation clocks")

    def __str__(self) -> str:
        return f"{self.case_id} {self.clock}"


class PlaceKind(models.TextChoices):
    HOME = "home", _("Home")
    WORK = "work", _("Workplace")
    SCHOOL = "school", _("School")
    VENUE = "venue", _("Venue")
    TRANSPORT = "transport", _("Transport")
    MEDICAL = "medical", _("Medical visit")
    OTHER = "other", _("Other")


class TimelineEvent(models.Model):
    """One stay in the case's infectious period: where, when, with whom (free text until venues land)."""

    SCOPE_FIELD: ClassVar[str] = "case__division__path"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="timeline")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    kind = models.CharField(_("kind"), max_length=10, choices=PlaceKind.choices)
    place = models.CharField(_("place"), max_length=200)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline")

    def __str__(self) -> str:
        return f"{self.place} {self.starts_at:%m-%d %H:%M}"


class Category(models.TextChoices):
    CLOSE = "close_contact", _("Close contact")
    SECONDARY = "secondary_contact", _("Secondary contact")


class ContactStatus(models.TextChoices):
    SUGGESTED = "suggested", _("Suggested")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")


class Setting(models.TextChoices):
    HOUSEHOLD = "household", _("Same household")
    WORK = "work", _("Workplace")
    SCHOOL = "school", _("School")
    VENUE = "venue", _("Venue")
    COMPANION = "companion", _("Spatio-temporal companion")
    TRANSPORT = "transport", _("Transport")
    OTHER = "other", _("Other")


class Contact(models.Model):
    """A person exposed to a case (close) or to a close contact (secondary), with what the edition asks of them."""

    SCOPE_FIELD: ClassVar[str] = "case__division__path"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contacts")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    via = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="secondary", verbose_name=_("through")
    )
    setting = models.CharField(_("setting"), max_length=12, choices=Setting.choices)
    status = models.CharField(_("status"), max_length=10, choices=ContactStatus.choices)
    last_exposure_at = models.DateTimeField(_("last exposure"), null=True, blank=True)
    evidence = models.CharField(_("evidence"), max_length=300, blank=True)
    edition_id = models.CharField(_("policy edition"), max_length=20, blank=True)
    quarantine_setting = models.CharField(_("quarantine"), max_length=12, blank=True)
    quarantine_until = models.DateField(_("quarantine until"), null=True, blank=True)
    monitoring_until = models.DateField(_("health monitoring until"), null=True, blank=True)
    test_dates = models.JSONField(_("test dates"), default=list, blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["category", "status", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "person", "category"], name="contact_unique_per_case"),
            models.CheckConstraint(
                condition=Q(category="close_contact", via__isnull=True)
                | Q(category="secondary_contact", via__isnull=False),
                name="contact_secondary_has_via",
            ),
        ]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.case_id} {self.category} {self.person_id}"
