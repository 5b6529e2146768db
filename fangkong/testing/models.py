"""Tables of the testing app: sampling sites, mass-testing rounds, tubes and samples, the chain of custody to the
lab, results, positive-pool recall and retests, exemptions, and the device batches that make uploads idempotent.

Workflows live in `testing.services`; these tables hold data, constraints and predicates only. Every table names
its `SCOPE_FIELD`; rows that belong to a community carry their own `division` (a `jurisdiction_key`), so the
scope filter needs no join on the hot paths (tube lists, recall lists per community, coverage per community).

A lab is an `core.Organization` of kind `lab`; labs are not a table of their own.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import Organization, User, jurisdiction_key
from fangkong.people.models import Person
from fangkong.tracing.models import Case

POOL_SIZES = (1, 5, 10, 20)


class SiteKind(models.TextChoices):
    FIXED = "fixed", _("Fixed sampling site")
    MOBILE = "mobile", _("Mobile sampling team")
    DOOR_TO_DOOR = "door_to_door", _("Door-to-door sampling team")


class SamplingSite(models.Model):
    """A sampling point (采样点) in a community: fixed, mobile or door to door, with its hourly throughput."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    division = jurisdiction_key(_("community"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=SiteKind.choices, default=SiteKind.FIXED)
    hourly_capacity = models.PositiveIntegerField(_("people per hour"), default=120)
    address = models.CharField(_("address"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["division_id", "name"]
        constraints = [models.UniqueConstraint(fields=["division", "name"], name="sampling_site_unique_name")]
        verbose_name = _("sampling site")
        verbose_name_plural = _("sampling sites")

    def __str__(self) -> str:
        return self.name


class Sampler(models.Model):
    """A swabber working at a site; `user` when they sign in themselves, else a name the site lead records."""

    SCOPE_FIELD: ClassVar[str] = "site__division__path"

    site = models.ForeignKey(SamplingSite, on_delete=models.CASCADE, related_name="samplers", verbose_name=_("site"))
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["site_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "user"], condition=Q(user__isnull=False), name="sampler_one_per_user_and_site"
            )
        ]
        verbose_name = _("sampler")
        verbose_name_plural = _("samplers")

    def __str__(self) -> str:
        return self.name


class LabCapacity(models.Model):
    """A lab's declared throughput (tubes a day), for the capacity planner; the lab itself is an Organization."""

    SCOPE_FIELD: ClassVar[str] = "lab__division__path"

    lab = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="testing_capacity", verbose_name=_("lab")
    )
    tubes_per_day = models.PositiveIntegerField(_("tubes per day"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("lab capacity")
        verbose_name_plural = _("lab capacities")

    def __str__(self) -> str:
        return f"{self.lab_id}: {self.tubes_per_day}/d"


class RoundStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    OPEN = "open", _("Sampling")
    CLOSED = "closed", _("Closed")


class TestRound(models.Model):
    """A mass-testing round (全员核酸): an area (a division and everything below it), a time window, the pool
    size its tubes take, and turnaround targets in hours counted from sampling."""

    __test__ = False  # not a pytest test class despite the name

    SCOPE_FIELD: ClassVar[str] = "division__path"

    division = jurisdiction_key(_("area"))
    name = models.CharField(_("name"), max_length=100)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    pool_size = models.PositiveSmallIntegerField(_("people per tube"), default=10)
    receipt_target_hours = models.PositiveSmallIntegerField(_("sampling → lab receipt target (h)"), default=6)
    result_target_hours = models.PositiveSmallIntegerField(_("sampling → result target (h)"), default=12)
    completion_target_hours = models.PositiveSmallIntegerField(_("round start → all results target (h)"), default=24)
    status = models.CharField(_("status"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.PLANNED)
    edition_id = models.CharField(_("policy edition"), max_length=20, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(pool_size__in=POOL_SIZES), name="test_round_pool_size_allowed"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="test_round_window_ordered"),
        ]
        indexes = [models.Index(fields=["division", "status"], name="test_round_division_status_idx")]
        verbose_name = _("mass-testing round")
        verbose_name_plural = _("mass-testing rounds")

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN


class TubeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    HANDED_OVER = "handed_over", _("Handed over")
    RECEIVED = "received", _("Received by the lab")
    RESULTED = "resulted", _("Resulted")
    MISSING = "missing", _("Missing at the lab")


class Tube(models.Model):
    """A sampling tube: a barcode used once, ever (a unique constraint across all rounds), holding up to
    `capacity` swabs. `sample_count` is the slot counter: services fill a slot with one conditional UPDATE
    (`sample_count < capacity`), and the check constraint makes over-filling impossible even for raw SQL.
    `division` is the site's community; the *_at columns serve turnaround figures without a join."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    barcode = models.CharField(_("barcode"), max_length=32, unique=True)
    round = models.ForeignKey(TestRound, on_delete=models.PROTECT, related_name="tubes", verbose_name=_("round"))
    site = models.ForeignKey(SamplingSite, on_delete=models.PROTECT, related_name="tubes", verbose_name=_("site"))
    division = jurisdiction_key(_("community"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    sample_count = models.PositiveSmallIntegerField(_("samples"), default=0)
    is_retest = models.BooleanField(_("single-tube retest"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=TubeStatus.choices, default=TubeStatus.OPEN)
    opened_at = models.DateTimeField(_("first sample"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    handed_over_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    resulted_at = models.DateTimeField(_("resulted"), null=True, blank=True)
    lab = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("lab")
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__in=POOL_SIZES), name="tube_capacity_allowed"),
            models.CheckConstraint(condition=Q(sample_count__lte=models.F("capacity")), name="tube_not_over_capacity"),
        ]
        indexes = [
            models.Index(fields=["round", "status"], name="tube_round_status_idx"),
            models.Index(fields=["site", "status"], name="tube_site_status_idx"),
            models.Index(fields=["division", "round"], name="tube_division_round_idx"),
            models.Index(fields=["lab", "resulted_at"], name="tube_lab_resulted_idx"),
        ]
        verbose_name = _("tube")
        verbose_name_plural = _("tubes")

    def __str__(self) -> str:
        return self.barcode

    @property
    def is_full(self) -> bool:
        return self.sample_count >= self.capacity

    @property
    def accepts_samples(self) -> bool:
        return self.status == TubeStatus.OPEN and self.sample_count < self.capacity


class SamplePurpose(models.TextChoices):
    ROUND = "round", _("Round sampling")
    RETEST = "retest", _("Single-tube retest")


class Sample(models.Model):
    """One swab of one person into one tube. A person is sampled at most once per round: a second swab in the
    same round is kept (it is physically in its tube and counts toward the tube's capacity) but carries
    `is_duplicate` and a `SamplingFlag`, so coverage counts the person once and the duplicate is reviewed.
    Retest swabs (`purpose=retest`) sit outside that rule. `idempotency_key` is the device's own id for the scan,
    unique per device."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="samples", verbose_name=_("person"))
    tube = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="samples", verbose_name=_("tube"))
    round = models.ForeignKey(TestRound, on_delete=models.PROTECT, related_name="samples", verbose_name=_("round"))
    site = models.ForeignKey(SamplingSite, on_delete=models.PROTECT, related_name="samples", verbose_name=_("site"))
    division = jurisdiction_key(_("community"))
    purpose = models.CharField(_("purpose"), max_length=10, choices=SamplePurpose.choices, default=SamplePurpose.ROUND)
    is_duplicate = models.BooleanField(_("second sample in the round"), default=False)
    sampled_at = models.DateTimeField(_("sampled"))
    sampler = models.ForeignKey(
        Sampler, null=True, blank=True, on_delete=models.SET_NULL, related_name="samples", verbose_name=_("sampler")
    )
    device_id = models.CharField(_("device"), max_length=64, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, blank=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-sampled_at", "-id"]
        constraints = [
            # (round, person): a round's inserts land in its own part of the index. On PostgreSQL the index also
            # carries INCLUDE (sampled_at) (migration 0005; Django would drop an `include` constraint entirely on
            # SQLite): a round's coverage extraction reads it by an index-only scan (testing.coverage.extract)
            models.UniqueConstraint(
                fields=["round", "person"],
                condition=Q(purpose="round", is_duplicate=False),
                name="sample_person_once_per_round",
            ),
            models.UniqueConstraint(
                fields=["device_id", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="sample_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["round", "sampled_at"], name="sample_round_time_idx"),
            models.Index(fields=["division", "round"], name="sample_division_round_idx"),
            models.Index(fields=["person", "sampled_at"], name="sample_person_time_idx"),
        ]
        verbose_name = _("sample")
        verbose_name_plural = _("samples")

    def __str__(self) -> str:
        return f"{self.person_id} → {self.tube_id}"


class FlagKind(models.TextChoices):
    DUPLICATE_IN_ROUND = "duplicate_in_round", _("Sampled twice in one round")
    REGISTERED_ON_SPOT = "registered_on_spot", _("Unknown person registered at the site")


class FlagStatus(models.TextChoices):
    OPEN = "open", _("To review")
    RESOLVED = "resolved", _("Reviewed")


class FlagDecision(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class SamplingFlag(models.Model):
    """Something at the sampling station a person must look at: a second swab in a round (pointing at the first)
    or a person registered on the spot. A reviewer confirms or dismisses it with a note (`decision`)."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="flags", verbose_name=_("sample"))
    first_sample = models.ForeignKey(
        Sample, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("first sample")
    )
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    round = models.ForeignKey(TestRound, on_delete=models.PROTECT, related_name="flags", verbose_name=_("round"))
    division = jurisdiction_key(_("community"))
    kind = models.CharField(_("kind"), max_length=20, choices=FlagKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    decision = models.CharField(_("decision"), max_length=10, choices=FlagDecision.choices, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    resolved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["division", "status"], name="sampling_flag_division_idx")]
        verbose_name = _("sampling flag")
        verbose_name_plural = _("sampling flags")

    def __str__(self) -> str:
        return f"{self.kind} {self.person_id}"


class HandoverStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", _("In transit")
    RECEIVED = "received", _("Received")
    RECEIVED_WITH_MISSING = "received_missing", _("Received, tubes missing")


class Handover(models.Model):
    """A transport batch (交接单) of closed tubes from a site to a lab."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    site = models.ForeignKey(SamplingSite, on_delete=models.PROTECT, related_name="handovers", verbose_name=_("site"))
    round = models.ForeignKey(TestRound, on_delete=models.PROTECT, related_name="handovers", verbose_name=_("round"))
    lab = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", verbose_name=_("lab"))
    division = jurisdiction_key(_("community"))
    status = models.CharField(
        _("status"), max_length=20, choices=HandoverStatus.choices, default=HandoverStatus.IN_TRANSIT
    )
    courier = models.CharField(_("courier"), max_length=100, blank=True)
    tube_count = models.PositiveIntegerField(_("tubes"), default=0)
    handed_over_at = models.DateTimeField(_("handed over"))
    handed_over_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(_("received"), null=True, blank=True)

    class Meta:
        ordering = ["-handed_over_at", "-id"]
        indexes = [
            models.Index(fields=["lab", "status"], name="handover_lab_status_idx"),
            models.Index(fields=["division", "handed_over_at"], name="handover_division_time_idx"),
        ]
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")

    def __str__(self) -> str:
        return f"{self.site_id} → {self.lab_id} {self.handed_over_at:%Y-%m-%d %H:%M}"


class CustodyStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    RECEIVED = "received", _("Received")
    MISSING = "missing", _("Missing")


class HandoverTube(models.Model):
    """One tube on a handover and what the lab found: received, or missing when the receipt was confirmed."""

    SCOPE_FIELD: ClassVar[str] = "handover__division__path"

    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="items", verbose_name=_("handover"))
    tube = models.OneToOneField(Tube, on_delete=models.PROTECT, related_name="handover_item", verbose_name=_("tube"))
    status = models.CharField(_("status"), max_length=10, choices=CustodyStatus.choices, default=CustodyStatus.SENT)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)

    class Meta:
        ordering = ["handover_id", "id"]
        indexes = [models.Index(fields=["handover", "status"], name="handover_tube_status_idx")]
        verbose_name = _("handed-over tube")
        verbose_name_plural = _("handed-over tubes")

    def __str__(self) -> str:
        return f"{self.handover_id}: {self.tube_id}"


class LabReceipt(models.Model):
    """The lab's confirmation of a handover: how many tubes arrived, which were missing (the HandoverTube rows
    left `missing`), and any barcodes scanned at the lab that the handover did not list."""

    SCOPE_FIELD: ClassVar[str] = "handover__division__path"

    handover = models.OneToOneField(Handover, on_delete=models.PROTECT, related_name="receipt")
    lab = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", verbose_name=_("lab"))
    received_at = models.DateTimeField(_("received"))
    received_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_count = models.PositiveIntegerField(_("received"), default=0)
    missing_count = models.PositiveIntegerField(_("missing"), default=0)
    unexpected_barcodes = models.JSONField(_("scanned but not on the handover"), default=list)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("lab receipt")
        verbose_name_plural = _("lab receipts")

    def __str__(self) -> str:
        return f"{self.handover_id} {self.received_count}/{self.received_count + self.missing_count}"


class ImportStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    REFUSED = "refused", _("Refused")


class ImportSource(models.TextChoices):
    FILE = "file", _("File upload")
    API = "api", _("API")


class ResultImport(models.Model):
    """One lab file or API call of results, applied all or nothing. A refused one keeps its errors (row, field,
    code, message); the same file (by SHA-256) is not applied twice for a lab."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    lab = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", verbose_name=_("lab"))
    division = jurisdiction_key(_("lab's division"))
    source = models.CharField(_("source"), max_length=10, choices=ImportSource.choices, default=ImportSource.FILE)
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    positive_count = models.PositiveIntegerField(_("positive"), default=0)
    errors = models.JSONField(_("errors"), default=list)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lab", "sha256"], condition=Q(status="applied") & ~Q(sha256=""), name="result_import_file_once"
            ),
            models.UniqueConstraint(
                fields=["lab", "idempotency_key"], condition=~Q(idempotency_key=""), name="result_import_key_once"
            ),
        ]
        verbose_name = _("result import")
        verbose_name_plural = _("result imports")

    def __str__(self) -> str:
        return f"{self.file_name or self.source} {self.status}"


class ResultValue(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid")


class TubeResult(models.Model):
    """A lab's result for a tube: one per tube (a tube is tested once; an invalid pool is resampled in new
    tubes). Ct values only for positives, or when the lab reports them."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    tube = models.OneToOneField(Tube, on_delete=models.PROTECT, related_name="result", verbose_name=_("tube"))
    lab = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", verbose_name=_("lab"))
    division = jurisdiction_key(_("community"))
    result = models.CharField(_("result"), max_length=10, choices=ResultValue.choices)
    ct_orf1ab = models.DecimalField(_("Ct ORF1ab"), max_digits=4, decimal_places=1, null=True, blank=True)
    ct_n = models.DecimalField(_("Ct N"), max_digits=4, decimal_places=1, null=True, blank=True)
    resulted_at = models.DateTimeField(_("resulted"))
    result_import = models.ForeignKey(
        ResultImport, null=True, blank=True, on_delete=models.PROTECT, related_name="results", verbose_name=_("import")
    )
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-resulted_at", "-id"]
        indexes = [
            models.Index(fields=["division", "result"], name="tube_result_division_idx"),
            models.Index(fields=["lab", "resulted_at"], name="tube_result_lab_time_idx"),
        ]
        verbose_name = _("tube result")
        verbose_name_plural = _("tube results")

    def __str__(self) -> str:
        return f"{self.tube_id} {self.result}"

    @property
    def is_positive(self) -> bool:
        return self.result == ResultValue.POSITIVE


class RecallStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class RecallKind(models.TextChoices):
    POSITIVE = "positive", _("Positive pool")
    INVALID = "invalid", _("Invalid — sample again")


class Recall(models.Model):
    """The people of one tube to sample again, made the moment its result is recorded: a positive pool's recall
    (阳性混管召回, `kind=positive`) or an invalid tube's resample list (`kind=invalid`, 无效重采). Resolved when
    every member is: by a single-tube retest, or (for an invalid tube) by a later round sample's result."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    tube = models.OneToOneField(Tube, on_delete=models.PROTECT, related_name="recall", verbose_name=_("tube"))
    tube_result = models.OneToOneField(TubeResult, on_delete=models.PROTECT, related_name="recall")
    round = models.ForeignKey(TestRound, on_delete=models.PROTECT, related_name="recalls", verbose_name=_("round"))
    division = jurisdiction_key(_("community"))
    kind = models.CharField(_("kind"), max_length=10, choices=RecallKind.choices, default=RecallKind.POSITIVE)
    status = models.CharField(_("status"), max_length=10, choices=RecallStatus.choices, default=RecallStatus.OPEN)
    created_at = models.DateTimeField(_("created"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["division", "status"], name="recall_division_status_idx")]
        verbose_name = _("positive-pool recall")
        verbose_name_plural = _("positive-pool recalls")

    def __str__(self) -> str:
        return f"{self.tube_id} {self.kind} {self.status}"

    @property
    def is_invalid_resample(self) -> bool:
        return self.kind == RecallKind.INVALID


class MemberStatus(models.TextChoices):
    TO_RETEST = "to_retest", _("To retest")
    RETEST_SAMPLED = "retest_sampled", _("Retest sampled")
    NEGATIVE = "negative", _("Retest negative")
    POSITIVE = "positive", _("Retest positive")
    # Only on an invalid tube's list: sampled again into a pool that came back positive; that pool's own recall
    # now follows the person.
    POOL_POSITIVE = "pool_positive", _("Resampled into a positive pool")


RESOLVED_MEMBER_STATES = (MemberStatus.NEGATIVE, MemberStatus.POSITIVE, MemberStatus.POOL_POSITIVE)
OPEN_MEMBER_STATES = (MemberStatus.TO_RETEST, MemberStatus.RETEST_SAMPLED)


class RecallMember(models.Model):
    """One person of a positive pool (or an invalid tube) to sample again. `division` is the person's home
    community, so the list reaches the community that must find them (the tube's own community is on the
    Recall). `resolved_by_sample` is the later round sample whose result resolved an invalid tube's member."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    recall = models.ForeignKey(Recall, on_delete=models.CASCADE, related_name="members", verbose_name=_("recall"))
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="+", verbose_name=_("pooled sample"))
    division = jurisdiction_key(_("community"))
    status = models.CharField(_("status"), max_length=20, choices=MemberStatus.choices, default=MemberStatus.TO_RETEST)
    pool_entry_id = models.BigIntegerField(_("loop entry"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by_sample = models.ForeignKey(
        Sample, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("resolving sample")
    )

    class Meta:
        ordering = ["recall_id", "id"]
        constraints = [models.UniqueConstraint(fields=["recall", "person"], name="recall_member_once")]
        indexes = [models.Index(fields=["division", "status"], name="recall_member_division_idx")]
        verbose_name = _("recalled person")
        verbose_name_plural = _("recalled people")

    def __str__(self) -> str:
        return f"{self.person_id} {self.status}"

    @property
    def is_resolved(self) -> bool:
        return self.status in RESOLVED_MEMBER_STATES


class RetestStatus(models.TextChoices):
    SAMPLED = "sampled", _("Sampled")
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid — sample again")


class Retest(models.Model):
    """A recalled person's single-tube retest: a capacity-1 tube (its sample has `purpose=retest`) whose result
    resolves the member; a positive one registers a case (`case`). An invalid retest leaves the member open."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    member = models.ForeignKey(RecallMember, on_delete=models.PROTECT, related_name="retests")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    tube = models.OneToOneField(Tube, on_delete=models.PROTECT, related_name="retest", verbose_name=_("tube"))
    sample = models.OneToOneField(Sample, on_delete=models.PROTECT, related_name="retest")
    division = jurisdiction_key(_("community"))
    status = models.CharField(_("status"), max_length=10, choices=RetestStatus.choices, default=RetestStatus.SAMPLED)
    sampled_at = models.DateTimeField(_("sampled"))
    resulted_at = models.DateTimeField(_("resulted"), null=True, blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-sampled_at", "-id"]
        indexes = [models.Index(fields=["division", "status"], name="retest_division_status_idx")]
        verbose_name = _("single-tube retest")
        verbose_name_plural = _("single-tube retests")

    def __str__(self) -> str:
        return f"{self.person_id} {self.status}"


class ExemptionReason(models.TextChoices):
    INFANT = "infant", _("Infant")
    BEDRIDDEN = "bedridden", _("Bedridden (door-to-door sampling)")
    AWAY = "away", _("Away from the city")
    OTHER = "other", _("Other (see the note)")


class Exemption(models.Model):
    """A person excused from a round's site sampling. Bedridden people are not excused from testing: they go on
    the door-to-door list (`needs_door_to_door`) until a door-to-door sample exists for them in the round."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    round = models.ForeignKey(TestRound, on_delete=models.PROTECT, related_name="exemptions", verbose_name=_("round"))
    division = jurisdiction_key(_("community"))
    reason = models.CharField(_("reason"), max_length=10, choices=ExemptionReason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["division_id", "id"]
        constraints = [models.UniqueConstraint(fields=["person", "round"], name="exemption_once_per_round")]
        indexes = [models.Index(fields=["round", "division", "reason"], name="exemption_round_division_idx")]
        verbose_name = _("exemption")
        verbose_name_plural = _("exemptions")

    def __str__(self) -> str:
        return f"{self.person_id} {self.reason}"

    @property
    def needs_door_to_door(self) -> bool:
        return self.reason == ExemptionReason.BEDRIDDEN


class DeviceBatch(models.Model):
    """An uploaded batch from a sampling device, kept so a retry with the same (device, key) returns the stored
    response instead of registering anything again. `request_sha256` tells a true retry from a key reused for a
    different body (refused)."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    device_id = models.CharField(_("device"), max_length=64)
    key = models.CharField(_("idempotency key"), max_length=80)
    site = models.ForeignKey(SamplingSite, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    division = jurisdiction_key(_("community"))
    request_sha256 = models.CharField(_("request SHA-256"), max_length=64)
    item_count = models.PositiveIntegerField(_("items"), default=0)
    accepted_count = models.PositiveIntegerField(_("accepted"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    response = models.JSONField(_("response"), default=dict)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["device_id", "key"], name="device_batch_once")]
        verbose_name = _("device batch")
        verbose_name_plural = _("device batches")

    def __str__(self) -> str:
        return f"{self.device_id}/{self.key}"


# Round coverage results live with their code in testing.coverage; imported here so Django registers them.
from fangkong.testing.coverage.models import CommunityCoverage, RoundCoverageRun, UncoveredPerson  # noqa: E402, F401
