"""Tables of the quarantine app: designated sites with their buildings, floors and rooms; staff in a closed loop;
placements (centralized or home) with the policy terms frozen when the person was placed; the waitlist and pickup
batches; twice-daily readings and alerts; scheduled tests; home check-ins and violations; release certificates.

Workflows live in `quarantine.services`; these tables hold data, constraints and predicates only.

Scarce rooms, proven by the database:
- A `RoomBooking` is one use of one room. A partial unique index allows at most one *open* booking per room
  (`ended_at IS NULL`), so two independent placements can never hold the same room, whatever the code does.
- A `Placement` points at its booking. Exactly one placement per open booking is the booking's *holder*
  (`share_reason = ''`, partial unique on booking); the others share the room for a reason the policy allows
  (a child with their guardian, a carer with the person who needs one) and must name the placement they
  accompany (`companion_of`). So the only way two people are in one room is an explicit, recorded exception.
- One active placement (waiting for pickup or placed) per person: partial unique on person.

Scope: `Site.division` is the site's jurisdiction (a county or street); rows below a site carry their scope
through it. A placement carries its own `division` (the site's for centralized, the home community's for home
quarantine) so lists per jurisdiction need no join.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from fangkong.core.editions import load_edition
from fangkong.core.masking import mask_phone
from fangkong.core.models import Organization, User, jurisdiction_key
from fangkong.people.models import Person
from fangkong.quarantine.eligibility import Eligibility, TestOutcome, eligibility
from fangkong.screening.models import PoolEntry

# The plausible range of a body temperature reading, °C. Anything outside is a typing error (60 °C, 3.65), not a
# fever: forms and services refuse it with a clear message and the database refuses it too.
TEMPERATURE_MIN_C = 34.0
TEMPERATURE_MAX_C = 43.0

# ------------------------------------------------------------------------------------------------- sites


class SiteKind(models.TextChoices):
    HOTEL = "hotel", _("Hotel")
    DORMITORY = "dormitory", _("Dormitory")
    PURPOSE_BUILT = "purpose_built", _("Purpose-built quarantine facility")
    OTHER = "other", _("Other")


class SiteStatus(models.TextChoices):
    STANDBY = "standby", _("Standby (reserve)")
    READY = "ready", _("Ready")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class Site(models.Model):
    """A designated quarantine site (集中隔离点): a hotel or dormitory in a county or street's jurisdiction.

    The three zones and two passages (三区两通道) are recorded as where they are (e.g. "1F east wing");
    readiness is a checklist (`SiteChecklistItem`). Capacity is counted from the rooms."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    division = jurisdiction_key(_("jurisdiction"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=SiteKind.choices, default=SiteKind.HOTEL)
    address = models.CharField(_("address"), max_length=300, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=SiteStatus.choices, default=SiteStatus.STANDBY)
    operator = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("operator")
    )
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact mobile"), max_length=11, blank=True)
    # 三区两通道: where each zone and passage is.
    clean_zone = models.CharField(_("clean zone"), max_length=200, blank=True)
    buffer_zone = models.CharField(_("buffer zone"), max_length=200, blank=True)
    contaminated_zone = models.CharField(_("contaminated zone"), max_length=200, blank=True)
    staff_passage = models.CharField(_("staff passage"), max_length=200, blank=True)
    resident_passage = models.CharField(_("resident passage"), max_length=200, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["division_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["division", "name"], name="quarantine_site_unique_name"),
            models.CheckConstraint(
                condition=(Q(lat__isnull=True) & Q(lon__isnull=True))
                | (Q(lat__gte=-90, lat__lte=90) & Q(lon__gte=-180, lon__lte=180)),
                name="quarantine_site_location_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "division"], name="qsite_status_division_idx")]
        verbose_name = _("quarantine site")
        verbose_name_plural = _("quarantine sites")

    def __str__(self) -> str:
        return self.name

    @property
    def has_zones_recorded(self) -> bool:
        return all(
            (self.clean_zone, self.buffer_zone, self.contaminated_zone, self.staff_passage, self.resident_passage)
        )

    @property
    def accepts_placements(self) -> bool:
        return self.status in {SiteStatus.READY, SiteStatus.ACTIVE}


class SiteChecklistItem(models.Model):
    """One line of a site's readiness checklist (e.g. 'three zones marked', 'CCTV at every door')."""

    SCOPE_FIELD: ClassVar[str] = "site__division__path"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="checklist", verbose_name=_("site"))
    code = models.CharField(_("code"), max_length=40)
    label = models.CharField(_("item"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_done = models.BooleanField(_("done"), default=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["site_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="qsite_checklist_unique_code")]
        verbose_name = _("readiness checklist item")
        verbose_name_plural = _("readiness checklist")

    def __str__(self) -> str:
        return self.label


class Building(models.Model):
    SCOPE_FIELD: ClassVar[str] = "site__division__path"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="buildings", verbose_name=_("site"))
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        ordering = ["site_id", "name"]
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="qbuilding_unique_name")]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")

    def __str__(self) -> str:
        return self.name


class Floor(models.Model):
    SCOPE_FIELD: ClassVar[str] = "building__site__division__path"

    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="floors", verbose_name=_("building"))
    number = models.SmallIntegerField(_("floor"))

    class Meta:
        ordering = ["building_id", "number"]
        constraints = [models.UniqueConstraint(fields=["building", "number"], name="qfloor_unique_number")]
        verbose_name = _("floor")
        verbose_name_plural = _("floors")

    def __str__(self) -> str:
        return f"{self.building_id}/{self.number}"


class RoomType(models.TextChoices):
    SINGLE = "single", _("Single")
    FAMILY = "family", _("Family")
    ACCESSIBLE = "accessible", _("Accessible")


class RoomStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    OCCUPIED = "occupied", _("Occupied")
    CLEANING = "cleaning", _("Cleaning / disinfection")
    OUT_OF_SERVICE = "out_of_service", _("Out of service")


class Room(models.Model):
    """A room. `site` is denormalised from the floor so capacity counts and scope need no join. `status` is what
    staff see; whether a room is taken is decided by its open `RoomBooking` (the constraint), not by `status`."""

    SCOPE_FIELD: ClassVar[str] = "site__division__path"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="rooms", verbose_name=_("site"))
    floor = models.ForeignKey(Floor, on_delete=models.CASCADE, related_name="rooms", verbose_name=_("floor"))
    number = models.CharField(_("room number"), max_length=20)
    room_type = models.CharField(_("room type"), max_length=12, choices=RoomType.choices, default=RoomType.SINGLE)
    beds = models.PositiveSmallIntegerField(_("beds"), default=1)
    status = models.CharField(_("status"), max_length=16, choices=RoomStatus.choices, default=RoomStatus.AVAILABLE)

    class Meta:
        ordering = ["site_id", "floor_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["floor", "number"], name="qroom_unique_number"),
            models.CheckConstraint(condition=Q(beds__gte=1, beds__lte=10), name="qroom_beds_range"),
        ]
        indexes = [models.Index(fields=["site", "status"], name="qroom_site_status_idx")]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")

    def __str__(self) -> str:
        return self.number


class RoomBooking(models.Model):
    """One use of a room from allocation until it is vacated. At most one open booking per room (DB-enforced)."""

    SCOPE_FIELD: ClassVar[str] = "site__division__path"

    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("room"))
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("site"))
    started_at = models.DateTimeField(_("booked"))
    ended_at = models.DateTimeField(_("vacated"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["room"], condition=Q(ended_at__isnull=True), name="qbooking_one_open_per_room"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="qbooking_ended_after_start",
            ),
        ]
        indexes = [models.Index(fields=["site", "ended_at"], name="qbooking_site_open_idx")]
        verbose_name = _("room booking")
        verbose_name_plural = _("room bookings")

    def __str__(self) -> str:
        return f"{self.room_id} {self.started_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


# ------------------------------------------------------------------------------------------------- staff


class StaffRole(models.TextChoices):
    MANAGER = "manager", _("Site manager")
    MEDICAL = "medical", _("Medical staff")
    SECURITY = "security", _("Security")
    CLEANING = "cleaning", _("Cleaning and disinfection")
    LOGISTICS = "logistics", _("Logistics and meals")
    OTHER = "other", _("Other")


class StaffMember(models.Model):
    """Someone working at a site; `user` when they sign in. Medical staff receive the site's monitoring alerts."""

    SCOPE_FIELD: ClassVar[str] = "site__division__path"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="staff", verbose_name=_("site"))
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("user")
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("person")
    )
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("mobile"), max_length=11, blank=True)
    role = models.CharField(_("role"), max_length=12, choices=StaffRole.choices, default=StaffRole.OTHER)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["site_id", "role", "name"]
        verbose_name = _("site staff member")
        verbose_name_plural = _("site staff")

    def __str__(self) -> str:
        return self.name

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class StaffRoster(models.Model):
    """A closed-loop period (闭环管理) of one staff member at a site: in the loop from `loop_start` to `loop_end`
    (daily tests and health checks), then resting until `rest_until` (the after-post quarantine). Leaving before
    `loop_end` is recorded with `left_at` and flagged `left_early`; the rest period then counts from that day."""

    SCOPE_FIELD: ClassVar[str] = "site__division__path"

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="rosters", verbose_name=_("staff"))
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="rosters", verbose_name=_("site"))
    loop_start = models.DateField(_("loop starts"))
    loop_end = models.DateField(_("loop ends"))
    rest_until = models.DateField(_("rest until"))
    edition_id = models.CharField(_("policy edition"), max_length=20, blank=True)
    left_at = models.DateTimeField(_("left the loop"), null=True, blank=True)
    left_early = models.BooleanField(_("left early"), default=False)
    left_reason = models.CharField(_("reason for leaving"), max_length=300, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-loop_start", "staff_id"]
        constraints = [
            models.CheckConstraint(condition=Q(loop_end__gte=F("loop_start")), name="qroster_loop_ordered"),
            models.CheckConstraint(condition=Q(rest_until__gte=F("loop_start")), name="qroster_rest_after_start"),
            models.CheckConstraint(condition=Q(left_early=False) | Q(left_at__isnull=False), name="qroster_left_at"),
        ]
        indexes = [models.Index(fields=["site", "loop_start", "loop_end"], name="qroster_site_period_idx")]
        verbose_name = _("closed-loop roster")
        verbose_name_plural = _("closed-loop rosters")

    def __str__(self) -> str:
        return f"{self.staff_id} {self.loop_start}–{self.loop_end}"


class StaffCheckKind(models.TextChoices):
    TEST = "test", _("Nucleic-acid test")
    HEALTH = "health", _("Health check")


class StaffCheckResult(models.TextChoices):
    PENDING = "pending", _("Pending")
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    NORMAL = "normal", _("Normal")
    ABNORMAL = "abnormal", _("Abnormal")


class StaffCheck(models.Model):
    """A daily test or health check of a staff member while in the loop (one of each kind per roster and day)."""

    SCOPE_FIELD: ClassVar[str] = "roster__site__division__path"

    roster = models.ForeignKey(StaffRoster, on_delete=models.CASCADE, related_name="checks", verbose_name=_("roster"))
    on = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=10, choices=StaffCheckKind.choices)
    result = models.CharField(_("result"), max_length=10, choices=StaffCheckResult.choices)
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-on", "roster_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["roster", "on", "kind"], name="qstaffcheck_one_per_day_kind"),
            models.CheckConstraint(
                condition=Q(temperature__isnull=True)
                | Q(temperature__gte=TEMPERATURE_MIN_C, temperature__lte=TEMPERATURE_MAX_C),
                name="qstaffcheck_temperature_plausible",
            ),
        ]
        verbose_name = _("staff test or health check")
        verbose_name_plural = _("staff tests and health checks")

    def __str__(self) -> str:
        return f"{self.roster_id} {self.on} {self.kind}"


# ------------------------------------------------------------------------------------------- placements


class PlacementReason(models.TextChoices):
    """Why the person is quarantined; the values are the screening ledger's reasons (screening.Reason)."""

    CLOSE_CONTACT = "close_contact", _("Close contact")
    SECONDARY_CONTACT = "secondary_contact", _("Secondary contact")
    ARRIVAL = "arrival", _("Arrival from a risk area")


# The ledger's reasons that lead to quarantine, strictest first: a person listed for several is placed for the
# first of them.
PLACEMENT_REASONS: tuple[str, ...] = (
    PlacementReason.CLOSE_CONTACT.value,
    PlacementReason.ARRIVAL.value,
    PlacementReason.SECONDARY_CONTACT.value,
)


class PlacementKind(models.TextChoices):
    CENTRAL = "central", _("Centralized quarantine")
    HOME = "home", _("Home quarantine")


class PlacementStatus(models.TextChoices):
    WAITING = "waiting", _("Room allocated, awaiting transfer")
    PLACED = "placed", _("In quarantine")
    RELEASED = "released", _("Released")
    TRANSFERRED = "transferred", _("Transferred (hospital or another site)")
    ENDED = "ended", _("Ended")


ACTIVE_PLACEMENT_STATUSES = (PlacementStatus.WAITING, PlacementStatus.PLACED)


class ShareReason(models.TextChoices):
    """Why a placement shares a room it does not hold; '' = it holds the booking."""

    HOLDER = "", _("Holds the room")
    CHILD_WITH_GUARDIAN = "child_with_guardian", _("Child with their guardian")
    GUARDIAN_OF_CHILD = "guardian_of_child", _("Guardian of a child")
    CARER = "carer", _("Carer of a person who needs one")


class EndReason(models.TextChoices):
    BECAME_CASE = "became_case", _("Tested positive (became a case)")
    HOSPITAL = "hospital", _("Transferred to hospital")
    OTHER_SITE = "other_site", _("Moved to another site")
    SETTING_CHANGED = "setting_changed", _("Changed between home and centralized")
    CANCELLED = "cancelled", _("Placed in error / cancelled")
    OTHER = "other", _("Other")


class Placement(models.Model):
    """A person in quarantine: centralized (a site, a room booking) or at home, with the policy terms frozen at
    placement — the edition, the clock's day 0 (`start_date`, the last exposure), the end of quarantine, the end of
    home health monitoring and the test days — so a later change of edition never moves an existing placement.
    Day numbers follow `core.editions.quarantine_day` (the start date is day 0)."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    pool_entry = models.ForeignKey(
        PoolEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("ledger entry")
    )
    division = jurisdiction_key(_("jurisdiction"))  # the site's for centralized, the home community's for home
    home_division = models.ForeignKey(
        "core.Division",
        to_field="path",
        db_column="home_division_path",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("home community"),
    )
    reason = models.CharField(_("reason"), max_length=20, choices=PlacementReason.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=PlacementKind.choices)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="placements", verbose_name=_("site")
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="placements", verbose_name=_("room")
    )
    booking = models.ForeignKey(RoomBooking, null=True, blank=True, on_delete=models.PROTECT, related_name="placements")
    share_reason = models.CharField(
        _("sharing"), max_length=20, choices=ShareReason.choices, default=ShareReason.HOLDER, blank=True
    )
    companion_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="companions",
        verbose_name=_("accompanies"),
    )
    # Terms frozen at placement.
    edition_id = models.CharField(_("policy edition"), max_length=20)
    start_date = models.DateField(_("last exposure (day 0)"))
    quarantine_end = models.DateField(_("quarantine ends"))
    monitoring_end = models.DateField(_("health monitoring ends"))
    test_days = models.JSONField(_("test days (quarantine)"), default=list)
    monitoring_test_days = models.JSONField(_("test days (health monitoring)"), default=list)
    status = models.CharField(
        _("status"), max_length=12, choices=PlacementStatus.choices, default=PlacementStatus.WAITING
    )
    end_reason = models.CharField(_("ended because"), max_length=20, choices=EndReason.choices, blank=True)
    placed_at = models.DateTimeField(_("placed"), null=True, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status__in=ACTIVE_PLACEMENT_STATUSES),
                name="qplacement_one_active_per_person",
            ),
            # One active holder per booking: two independent people can never share a booking (nor, through
            # the booking's own constraint, a room). When a holder leaves, a companion may take the booking over.
            models.UniqueConstraint(
                fields=["booking"],
                condition=Q(share_reason="", booking__isnull=False, status__in=ACTIVE_PLACEMENT_STATUSES),
                name="qplacement_one_holder_per_booking",
            ),
            models.CheckConstraint(
                condition=Q(kind="home", site__isnull=True, room__isnull=True, booking__isnull=True)
                | Q(kind="central", site__isnull=False),
                name="qplacement_kind_matches_site",
            ),
            models.CheckConstraint(
                condition=Q(room__isnull=True, booking__isnull=True) | Q(room__isnull=False, booking__isnull=False),
                name="qplacement_room_has_booking",
            ),
            models.CheckConstraint(
                condition=Q(share_reason="", companion_of__isnull=True)
                | (~Q(share_reason="") & Q(companion_of__isnull=False, booking__isnull=False)),
                name="qplacement_sharing_is_explicit",
            ),
            models.CheckConstraint(
                condition=Q(quarantine_end__gte=F("start_date")) & Q(monitoring_end__gte=F("quarantine_end")),
                name="qplacement_terms_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["division", "status"], name="qplacement_division_status_idx"),
            models.Index(fields=["site", "status"], name="qplacement_site_status_idx"),
            models.Index(fields=["status", "quarantine_end"], name="qplacement_status_end_idx"),
        ]
        verbose_name = _("placement")
        verbose_name_plural = _("placements")

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_PLACEMENT_STATUSES

    @property
    def is_companion(self) -> bool:
        return bool(self.share_reason)

    @property
    def release_needs_two_reagents(self) -> bool:
        """The frozen edition asks close contacts for two swabs with two reagents before release (8th edition)."""
        return self.reason == PlacementReason.CLOSE_CONTACT and (
            load_edition(self.edition_id).close_contact.release_needs_two_reagents
        )

    def release_eligibility(self, *, on: date) -> Eligibility:
        """Days served and required negatives on `on` (the rule: quarantine.eligibility); uses prefetched tests."""
        tests = [TestOutcome(t.phase, t.day_number, t.status, t.result, t.reagent) for t in self.tests.all()]
        return eligibility(
            on=on,
            start_date=self.start_date,
            quarantine_end=self.quarantine_end,
            tests=tests,
            needs_two_reagents=self.release_needs_two_reagents,
            is_active=self.status == PlacementStatus.PLACED,
        )

    def can_release(self, *, on: date) -> bool:
        return self.release_eligibility(on=on).is_eligible


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for a room")
    PLACED = "placed", _("Placed")
    CANCELLED = "cancelled", _("Cancelled")


class WaitlistEntry(models.Model):
    """A person who needs centralized quarantine when no room is free; placed first-in, first-out by priority.
    Companions wait with the person they accompany (`companion_of`, `share_reason`) so they are placed together."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    pool_entry = models.ForeignKey(
        PoolEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("ledger entry")
    )
    division = jurisdiction_key(_("responsible"))  # the ledger entry's community (or county queue)
    reason = models.CharField(_("reason"), max_length=20, choices=PlacementReason.choices)
    start_date = models.DateField(_("last exposure (day 0)"))
    needs_room_type = models.CharField(_("room type needed"), max_length=12, choices=RoomType.choices, blank=True)
    share_reason = models.CharField(_("sharing"), max_length=20, choices=ShareReason.choices, blank=True)
    companion_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="companions", verbose_name=_("with")
    )
    priority = models.SmallIntegerField(_("priority"), default=0)  # higher first
    status = models.CharField(
        _("status"), max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    queued_at = models.DateTimeField(_("queued"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    placement = models.ForeignKey(
        Placement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("placement")
    )
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-priority", "queued_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="waiting"), name="qwaitlist_one_waiting_per_person"
            ),
            models.CheckConstraint(
                condition=Q(share_reason="", companion_of__isnull=True)
                | (~Q(share_reason="") & Q(companion_of__isnull=False)),
                name="qwaitlist_sharing_is_explicit",
            ),
        ]
        indexes = [models.Index(fields=["status", "division"], name="qwaitlist_status_division_idx")]
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")

    def __str__(self) -> str:
        return f"{self.person_id} {self.status}"


class PickupStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    EN_ROUTE = "en_route", _("En route")
    ARRIVED = "arrived", _("Arrived at the site")
    CANCELLED = "cancelled", _("Cancelled")


class PickupBatch(models.Model):
    """A transfer run (转运): a vehicle collecting placed people and bringing them to one site."""

    SCOPE_FIELD: ClassVar[str] = "site__division__path"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="pickups", verbose_name=_("site"))
    scheduled_at = models.DateTimeField(_("scheduled"))
    vehicle = models.CharField(_("vehicle"), max_length=40, blank=True)
    driver_name = models.CharField(_("driver"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=PickupStatus.choices, default=PickupStatus.PLANNED)
    departed_at = models.DateTimeField(_("departed"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        indexes = [models.Index(fields=["site", "status"], name="qpickup_site_status_idx")]
        verbose_name = _("pickup batch")
        verbose_name_plural = _("pickup batches")

    def __str__(self) -> str:
        return f"{self.site_id} {self.scheduled_at:%Y-%m-%d %H:%M}"


class PickupMember(models.Model):
    SCOPE_FIELD: ClassVar[str] = "batch__site__division__path"

    batch = models.ForeignKey(PickupBatch, on_delete=models.CASCADE, related_name="members", verbose_name=_("batch"))
    placement = models.ForeignKey(
        Placement, on_delete=models.CASCADE, related_name="pickups", verbose_name=_("placement")
    )
    pickup_address = models.CharField(_("pick up at"), max_length=300, blank=True)
    picked_up_at = models.DateTimeField(_("picked up"), null=True, blank=True)

    class Meta:
        ordering = ["batch_id", "id"]
        constraints = [models.UniqueConstraint(fields=["batch", "placement"], name="qpickup_member_once")]
        verbose_name = _("pickup batch member")
        verbose_name_plural = _("pickup batch members")

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.placement_id}"


# ------------------------------------------------------------------------------------------- monitoring


class ReadingSlot(models.TextChoices):
    MORNING = "morning", _("Morning")
    AFTERNOON = "afternoon", _("Afternoon")


class ReadingSource(models.TextChoices):
    STAFF = "staff", _("Entered by staff")
    SELF_REPORT = "self_report", _("Self-reported")


class Reading(models.Model):
    """A twice-daily temperature and symptoms reading (one per placement, day and slot)."""

    SCOPE_FIELD: ClassVar[str] = "placement__division__path"

    placement = models.ForeignKey(
        Placement, on_delete=models.CASCADE, related_name="readings", verbose_name=_("placement")
    )
    on = models.DateField(_("day"))
    slot = models.CharField(_("time"), max_length=10, choices=ReadingSlot.choices)
    taken_at = models.DateTimeField(_("taken"))
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    is_abnormal = models.BooleanField(_("abnormal"), default=False)
    source = models.CharField(_("source"), max_length=12, choices=ReadingSource.choices, default=ReadingSource.STAFF)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-on", "slot", "placement_id"]
        constraints = [
            models.UniqueConstraint(fields=["placement", "on", "slot"], name="qreading_one_per_slot"),
            models.CheckConstraint(
                condition=Q(temperature__gte=TEMPERATURE_MIN_C, temperature__lte=TEMPERATURE_MAX_C),
                name="qreading_temperature_plausible",
            ),
        ]
        indexes = [models.Index(fields=["on", "slot"], name="qreading_day_slot_idx")]
        verbose_name = _("reading")
        verbose_name_plural = _("readings")

    def __str__(self) -> str:
        return f"{self.placement_id} {self.on} {self.slot} {self.temperature}"


class AlertKind(models.TextChoices):
    FEVER = "fever", _("Fever")
    SYMPTOMS = "symptoms", _("Symptoms")
    POSITIVE = "positive", _("Positive test")
    NOT_REPORTING = "not_reporting", _("Not reporting")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLOSED = "closed", _("Closed")


class MonitoringAlert(models.Model):
    """An abnormal reading or result raised to the site's medical staff; starts the fever workflow."""

    SCOPE_FIELD: ClassVar[str] = "placement__division__path"

    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(_("kind"), max_length=16, choices=AlertKind.choices)
    reading = models.ForeignKey(Reading, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    test = models.ForeignKey(
        "ScheduledTest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("test")
    )
    status = models.CharField(_("status"), max_length=14, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    raised_at = models.DateTimeField(_("raised"))
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["status", "raised_at"], name="qalert_status_raised_idx")]
        verbose_name = _("monitoring alert")
        verbose_name_plural = _("monitoring alerts")

    def __str__(self) -> str:
        return f"{self.placement_id} {self.kind} {self.status}"


class TestPhase(models.TextChoices):
    QUARANTINE = "quarantine", _("Quarantine")
    MONITORING = "monitoring", _("Home health monitoring")


class TestKind(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled by the edition")
    FEVER = "fever", _("Fever workflow")
    EXTRA = "extra", _("Extra")


class TestStatus(models.TextChoices):
    DUE = "due", _("Due")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")


class TestResult(models.TextChoices):
    NONE = "", _("No result yet")
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")


class ScheduledTest(models.Model):
    """A test a placement owes: the edition's test days (frozen in the placement), or a fever/extra test.
    `day_number` is on the quarantine clock (start date = day 0) whatever the phase."""

    __test__ = False  # not a pytest test class despite the name

    SCOPE_FIELD: ClassVar[str] = "placement__division__path"

    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="tests")
    kind = models.CharField(_("kind"), max_length=10, choices=TestKind.choices, default=TestKind.SCHEDULED)
    phase = models.CharField(_("phase"), max_length=12, choices=TestPhase.choices, default=TestPhase.QUARANTINE)
    day_number = models.SmallIntegerField(_("day"))
    due_on = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=10, choices=TestStatus.choices, default=TestStatus.DUE)
    result = models.CharField(_("result"), max_length=10, choices=TestResult.choices, blank=True, default="")
    sampled_at = models.DateTimeField(_("sampled"), null=True, blank=True)
    resulted_at = models.DateTimeField(_("resulted"), null=True, blank=True)
    reagent = models.CharField(_("reagent"), max_length=60, blank=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["due_on", "placement_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["placement", "phase", "day_number"],
                condition=Q(kind="scheduled"),
                name="qtest_scheduled_once",
            ),
            models.CheckConstraint(condition=Q(result="") | Q(status="done"), name="qtest_result_only_when_done"),
        ]
        indexes = [models.Index(fields=["due_on", "status"], name="qtest_due_status_idx")]
        verbose_name = _("scheduled test")
        verbose_name_plural = _("scheduled tests")

    def __str__(self) -> str:
        return f"{self.placement_id} day {self.day_number} {self.status}"


# ----------------------------------------------------------------------------------------- home quarantine


class CheckInMethod(models.TextChoices):
    VISIT = "visit", _("Door visit")
    PHONE = "phone", _("Phone call")
    VIDEO = "video", _("Video call")
    DOOR_SENSOR = "door_sensor", _("Door sensor")


class HomeCheckIn(models.Model):
    """A community worker's daily check on a person in home quarantine or home health monitoring."""

    SCOPE_FIELD: ClassVar[str] = "placement__division__path"

    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="check_ins")
    on = models.DateField(_("day"))
    checked_at = models.DateTimeField(_("checked"))
    method = models.CharField(_("method"), max_length=12, choices=CheckInMethod.choices, default=CheckInMethod.VISIT)
    is_at_home = models.BooleanField(_("at home"), default=True)
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-checked_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(temperature__isnull=True)
                | Q(temperature__gte=TEMPERATURE_MIN_C, temperature__lte=TEMPERATURE_MAX_C),
                name="qcheckin_temperature_plausible",
            )
        ]
        indexes = [models.Index(fields=["placement", "on"], name="qcheckin_placement_day_idx")]
        verbose_name = _("home check-in")
        verbose_name_plural = _("home check-ins")

    def __str__(self) -> str:
        return f"{self.placement_id} {self.on}"


class ViolationKind(models.TextChoices):
    LEFT_HOME = "left_home", _("Left home")
    VISITOR = "visitor", _("Received a visitor")
    REFUSED_TEST = "refused_test", _("Refused a test")
    REFUSED_CHECK_IN = "refused_check_in", _("Refused a check-in")
    OTHER = "other", _("Other")


class Violation(models.Model):
    SCOPE_FIELD: ClassVar[str] = "placement__division__path"

    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="violations")
    kind = models.CharField(_("kind"), max_length=20, choices=ViolationKind.choices)
    occurred_at = models.DateTimeField(_("occurred"))
    description = models.CharField(_("description"), max_length=500, blank=True)
    action_taken = models.CharField(_("action taken"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("violation")
        verbose_name_plural = _("violations")

    def __str__(self) -> str:
        return f"{self.placement_id} {self.kind}"


# ------------------------------------------------------------------------------------------------ release


class ReleaseCertificate(models.Model):
    """The certificate issued when a placement is released (解除隔离告知书), and its handover to the home
    community for home health monitoring until `monitoring_until`."""

    SCOPE_FIELD: ClassVar[str] = "placement__division__path"

    placement = models.OneToOneField(Placement, on_delete=models.PROTECT, related_name="certificate")
    number = models.CharField(_("certificate number"), max_length=30, unique=True)
    edition_id = models.CharField(_("policy edition"), max_length=20)
    released_on = models.DateField(_("released on"))
    days_served = models.PositiveSmallIntegerField(_("days served"))
    negative_tests = models.PositiveSmallIntegerField(_("negative tests"))
    monitoring_until = models.DateField(_("health monitoring until"))
    home_division = models.ForeignKey(
        "core.Division",
        to_field="path",
        db_column="home_division_path",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("handed over to"),
    )
    issued_at = models.DateTimeField(_("issued"))
    issued_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    handover_acknowledged_at = models.DateTimeField(_("handover acknowledged"), null=True, blank=True)
    handover_acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monitoring_until__gte=F("released_on")), name="qcertificate_monitoring_after_release"
            )
        ]
        verbose_name = _("release certificate")
        verbose_name_plural = _("release certificates")

    def __str__(self) -> str:
        return self.number


# ----------------------------------------------------------------------------------------- hospital transfer


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    EN_ROUTE = "en_route", _("En route")
    ADMITTED = "admitted", _("Admitted to hospital")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_TRANSFER_STATUSES = (TransferStatus.REQUESTED, TransferStatus.EN_ROUTE)


class HospitalTransfer(models.Model):
    """A person who tested positive in quarantine, on their way to a designated hospital (闭环转运); requested when
    the positive result is recorded, then en route and admitted."""

    SCOPE_FIELD: ClassVar[str] = "placement__division__path"

    placement = models.ForeignKey(
        Placement, on_delete=models.PROTECT, related_name="transfers", verbose_name=_("placement")
    )
    case_number = models.CharField(_("case"), max_length=30)
    status = models.CharField(
        _("status"), max_length=10, choices=TransferStatus.choices, default=TransferStatus.REQUESTED
    )
    hospital = models.CharField(_("hospital"), max_length=100, blank=True)
    requested_at = models.DateTimeField(_("requested"))
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    departed_at = models.DateTimeField(_("departed"), null=True, blank=True)
    admitted_at = models.DateTimeField(_("admitted"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["placement"],
                condition=Q(status__in=["requested", "en_route"]),
                name="qtransfer_one_open_per_placement",
            )
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="qtransfer_status_idx")]
        verbose_name = _("hospital transfer")
        verbose_name_plural = _("hospital transfers")

    def __str__(self) -> str:
        return f"{self.case_number} {self.status}"
