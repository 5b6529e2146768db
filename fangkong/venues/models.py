"""Venues with a venue code (场所码) and the check-ins made there: by scanning the code, by staff at the door,
or from a venue operator's (or the big-data team's) file."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import Job, User, jurisdiction_key
from fangkong.people.models import Person


class VenueCategory(models.TextChoices):
    SUPERMARKET = "supermarket", _("Supermarket")
    MARKET = "market", _("Farmers' market")
    RESTAURANT = "restaurant", _("Restaurant")
    KTV = "ktv", _("KTV")
    INTERNET_CAFE = "internet_cafe", _("Internet café")
    CHESS_ROOM = "chess_room", _("Chess and mahjong room")
    GYM = "gym", _("Gym")
    CINEMA = "cinema", _("Cinema")
    HOTEL = "hotel", _("Hotel")
    SCENIC_SPOT = "scenic_spot", _("Scenic spot")
    HOSPITAL = "hospital", _("Hospital or clinic")
    SCHOOL = "school", _("School")
    ELDERLY_CENTRE = "elderly_centre", _("Elderly day-care centre")
    TRANSPORT_HUB = "transport_hub", _("Transport hub")
    OFFICE = "office", _("Office building")
    OTHER = "other", _("Other")


class Venue(models.Model):
    """A place that shows a venue code. `dwell_minutes` is how long a visit is assumed to last when nobody
    records the check-out (set from the category when the venue is registered; editable per venue)."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    code = models.CharField(_("venue code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=VenueCategory.choices)
    address = models.CharField(_("address"), max_length=300, blank=True)
    division = jurisdiction_key(_("community"))
    dwell_minutes = models.PositiveIntegerField(_("assumed stay (minutes)"))
    external_id = models.CharField(_("operator's id"), max_length=60, blank=True)
    is_active = models.BooleanField(_("accepting check-ins"), default=True)
    created_at = models.DateTimeField(_("registered"), auto_now_add=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["division_id", "name", "id"]
        constraints = [models.CheckConstraint(condition=Q(dwell_minutes__gt=0), name="venue_dwell_positive")]
        verbose_name = _("venue")
        verbose_name_plural = _("venues")

    def __str__(self) -> str:
        return self.name


class CheckInSource(models.TextChoices):
    SCAN = "scan", _("Scanned the venue code")
    STAFF = "staff", _("Entered by staff")
    IMPORT = "import", _("Imported from a file")


class CheckInImport(models.Model):
    """One uploaded check-in file: kept on disk by content hash, checked whole, written whole or not at all."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    division = jurisdiction_key(_("jurisdiction"))
    venue = models.ForeignKey(
        Venue, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("venue")
    )
    file_name = models.CharField(_("file"), max_length=255)
    file_path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(default=0)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rows = models.PositiveIntegerField(_("rows"), default=0)
    errors = models.PositiveIntegerField(_("rows with errors"), default=0)
    created = models.PositiveIntegerField(_("check-ins added"), default=0)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    uploaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["division", "sha256"], name="checkin_import_file_once")]
        verbose_name = _("check-in import")
        verbose_name_plural = _("check-in imports")

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_imported(self) -> bool:
        """Committed: the write sets `rows` with `errors == 0`; a failed check sets `errors`."""
        return self.rows > 0 and self.errors == 0


class CheckIn(models.Model):
    """One visit. `ends_at` is the check-out when known, else the check-in plus the venue's assumed stay, so
    the overlap question is two comparisons on stored columns. `division` is the venue's community (copied,
    so scoping needs no join). `reference` makes every channel idempotent: a self check-in's submission key,
    a file's `<sha256[:16]>:<row>`, a staff form's token."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="check_ins", verbose_name=_("venue"))
    division = jurisdiction_key(_("community"))
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    checked_in_at = models.DateTimeField(_("checked in"))
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    ends_at = models.DateTimeField(_("until"))
    source = models.CharField(_("source"), max_length=10, choices=CheckInSource.choices)
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    source_import = models.ForeignKey(
        CheckInImport, null=True, blank=True, on_delete=models.PROTECT, related_name="check_ins"
    )
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-checked_in_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "reference"], condition=~Q(reference=""), name="checkin_reference_once"
            ),
            models.UniqueConstraint(fields=["person", "venue", "checked_in_at"], name="checkin_once_per_moment"),
            models.CheckConstraint(condition=Q(ends_at__gte=F("checked_in_at")), name="checkin_ends_after_start"),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True) | Q(checked_out_at__gte=F("checked_in_at")),
                name="checkin_out_after_in",
            ),
        ]
        indexes = [
            models.Index(fields=["venue", "checked_in_at"], name="checkin_venue_time"),
            models.Index(fields=["person", "checked_in_at"], name="checkin_person_time"),
        ]
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")

    def __str__(self) -> str:
        return f"{self.venue_id} {self.person_id} {self.checked_in_at:%Y-%m-%d %H:%M}"

    @property
    def is_stay_assumed(self) -> bool:
        """No check-out was recorded: `ends_at` is the venue's assumed stay."""
        return self.checked_out_at is None
