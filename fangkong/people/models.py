"""The person registry: one row per human being, many documents and many sources each."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.masking import mask_id_number, mask_name, mask_phone
from fangkong.core.models import Division, User


class DocumentKind(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAO_PERMIT = "hk_macao_permit", _("Mainland travel permit for Hong Kong and Macao residents")
    TAIWAN_PERMIT = "taiwan_permit", _("Mainland travel permit for Taiwan residents")
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit", _("Residence permit for Hong Kong, Macao and Taiwan residents")
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence", _("Foreigner's permanent residence ID card")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    UNKNOWN = "U", _("Unknown")


class Person(models.Model):
    SCOPE_FIELD: ClassVar[str] = "home_division__path"

    name = models.CharField(_("name"), max_length=100)
    pinyin = models.CharField(_("pinyin"), max_length=200, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    phone = models.CharField(_("mobile"), max_length=11, blank=True)
    phone_tail = models.CharField(_("mobile tail"), max_length=4, blank=True)
    primary_document_kind = models.CharField(
        _("document type"), max_length=30, choices=DocumentKind.choices, blank=True
    )
    primary_document_number = models.CharField(_("document number"), max_length=32, blank=True)
    home_division = models.ForeignKey(
        Division,
        to_field="path",
        db_column="home_division_path",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("home community"),
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    # Who a person lives, works and studies with, as keys from the registry's sources (a household register,
    # an employer or school roster): investigators' first suggestions for close contacts.
    household_key = models.CharField(_("household"), max_length=40, blank=True)
    workplace_key = models.CharField(_("workplace"), max_length=40, blank=True)
    class_key = models.CharField(_("school class"), max_length=40, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("merged into")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["home_division_id", "name", "id"]
        # Exact-match lookups only (search by full mobile or its last four digits, contact suggestions by
        # household, workplace or class): plain indexes, declared here rather than with db_index=True, which
        # on PostgreSQL adds a varchar_pattern_ops twin for LIKE 'x%' that nothing queries — five indexes
        # every insert paid for (a list import writes a million people at a time).
        indexes = [
            models.Index(fields=["name"], name="person_name_idx"),
            models.Index(fields=["phone"], name="person_phone_idx"),
            models.Index(fields=["phone_tail"], name="person_phone_tail_idx"),
            models.Index(fields=["household_key"], name="person_household_idx"),
            models.Index(fields=["workplace_key"], name="person_workplace_idx"),
            models.Index(fields=["class_key"], name="person_class_idx"),
        ]
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return f"{mask_name(self.name)} {self.masked_document}"

    @property
    def masked_document(self) -> str:
        return mask_id_number(self.primary_document_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None


class PersonDocument(models.Model):
    SCOPE_FIELD: ClassVar[str] = "person__home_division__path"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("document type"), max_length=30, choices=DocumentKind.choices)
    number = models.CharField(_("document number"), max_length=32)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "number"], name="person_document_unique")]
        verbose_name = _("identity document")
        verbose_name_plural = _("identity documents")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {mask_id_number(self.number)}"


class PersonSource(models.Model):
    """Provenance: every list row, report or form that mentioned this person, with what it said."""

    SCOPE_FIELD: ClassVar[str] = "person__home_division__path"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="sources")
    source = models.CharField(_("source"), max_length=60)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(_("as reported"), default=dict)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "source", "reference"],
                condition=~models.Q(reference=""),
                name="person_source_unique_reference",
            )
        ]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return f"{self.source} {self.reference}"


class MergeStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    MERGED = "merged", _("Merged")
    DISTINCT = "distinct", _("Different people")


class MergeCandidate(models.Model):
    """Two records that may be one person (same name and phone, no shared document): a human decides."""

    SCOPE_FIELD: ClassVar[str] = "person__home_division__path"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+", verbose_name=_("record"))
    other = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+", verbose_name=_("possible match"))
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=MergeStatus.choices, default=MergeStatus.PENDING)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["person", "other"], name="merge_candidate_unique_pair")]
        verbose_name = _("merge candidate")
        verbose_name_plural = _("merge queue")

    def __str__(self) -> str:
        return f"{self.person_id} ~ {self.other_id}"
