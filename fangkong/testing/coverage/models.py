"""Stored results of a round's coverage reconciliation: one run (totals, hourly progress, timings), its counts
per community, and the people it found uncovered (untested, or bedridden and waiting for door-to-door sampling).

Rows are written by `testing.coverage.services.store_reconciliation` only; a new run of a round replaces the
round's person lists (counts of earlier runs stay, for the history of a round's progress).

`CoverageChange` is the change log the incremental extraction reads (filled by database triggers, migration
0009) and `CoverageSnapshot` the database's half of a round's analytic snapshot (testing.coverage.incremental).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import Division, Job, jurisdiction_key
from fangkong.people.models import Person
from fangkong.testing.models import TestRound


class CoverageCounts(models.Model):
    """The counts the engine returns for a community or a whole round."""

    residents = models.PositiveIntegerField(_("residents"), default=0)
    tested = models.PositiveIntegerField(_("tested"), default=0)
    untested = models.PositiveIntegerField(_("untested"), default=0)
    door_to_door = models.PositiveIntegerField(_("door-to-door pending"), default=0)
    exempt_infant = models.PositiveIntegerField(_("exempt: infants"), default=0)
    exempt_away = models.PositiveIntegerField(_("exempt: away"), default=0)
    exempt_other = models.PositiveIntegerField(_("exempt: other reasons"), default=0)

    COUNT_FIELDS: ClassVar[tuple[str, ...]] = (
        "residents",
        "tested",
        "untested",
        "door_to_door",
        "exempt_infant",
        "exempt_away",
        "exempt_other",
    )

    class Meta:
        abstract = True

    @property
    def coverage_percent(self) -> float:
        """Tested share of the residents who must be tested (everyone but the excused: infants, people away and
        other exemptions; bedridden people are sampled at home and count)."""
        due = self.residents - self.exempt_infant - self.exempt_away - self.exempt_other
        return 100.0 * self.tested / due if due > 0 else 100.0


class RoundCoverageRun(CoverageCounts):
    """One reconciliation of a round: totals over its area, hourly progress per county, the recall check and
    where the time went (extract, engine, store)."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    round = models.ForeignKey(
        TestRound, on_delete=models.CASCADE, related_name="coverage_runs", verbose_name=_("round")
    )
    division = jurisdiction_key(_("area"))
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    computed_at = models.DateTimeField(_("computed"))
    recall_people = models.PositiveIntegerField(_("people in positive tubes"), default=0)
    recall_not_listed = models.JSONField(_("in a positive tube but on no recall list"), default=list)
    hourly = models.JSONField(_("hourly progress per county"), default=dict)
    timings = models.JSONField(_("timings (s)"), default=dict)

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["round", "computed_at"], name="coverage_run_round_time_idx")]
        verbose_name = _("round coverage run")
        verbose_name_plural = _("round coverage runs")

    def __str__(self) -> str:
        return f"{self.round_id} {self.computed_at:%Y-%m-%d %H:%M}"


class CommunityCoverage(CoverageCounts):
    """A run's counts for one community (or whatever division the residents' home is)."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    run = models.ForeignKey(
        RoundCoverageRun, on_delete=models.CASCADE, related_name="communities", verbose_name=_("run")
    )
    division = jurisdiction_key(_("community"))

    class Meta:
        ordering = ["run_id", "division_id"]
        constraints = [models.UniqueConstraint(fields=["run", "division"], name="community_coverage_once")]
        verbose_name = _("community coverage")
        verbose_name_plural = _("community coverage")

    def __str__(self) -> str:
        return f"{self.run_id} {self.division_id} {self.tested}/{self.residents}"


class UncoveredKind(models.TextChoices):
    UNTESTED = "untested", _("Not tested")
    DOOR_TO_DOOR = "door_to_door", _("Bedridden: door-to-door sampling")


class UncoveredPerson(models.Model):
    """A resident the round's latest run found not covered, in their home community's list.

    The lists belong to the round: a run deletes the rows it no longer lists and adds the new ones, so a run
    that changes little writes little; ``run`` is the run that first listed the person. Derived rows, kept by
    every run from the registry (a city's run lists ~10^5 people): their foreign keys are not checked by the
    database (`db_constraint=False`), because PostgreSQL checks deferred keys one row at a time at commit —
    15 s for 233,000 rows in the benchmark. Django still cascades deletes.

    One index besides the primary key, (round, kind, division): the page's reads (the round's list, in a
    community or under a jurisdiction's path) and a run's comparison with the lists it replaces. The foreign
    keys' own indexes are left out — each cost as much as the rows' insertion on the benchmark's 233,000
    rows; a person's deletion (rare: merged records are kept) scans the lists, one per round."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    round = models.ForeignKey(
        TestRound,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the (round, kind, division) index leads with it
        verbose_name=_("round"),
    )
    run = models.ForeignKey(
        RoundCoverageRun,
        on_delete=models.CASCADE,
        related_name="uncovered",
        db_constraint=False,
        db_index=False,  # a run's deletion (rare: runs are kept) scans the lists
        verbose_name=_("run"),
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
        verbose_name=_("person"),
    )
    division = models.ForeignKey(  # jurisdiction_key() without the database check
        Division,
        to_field="path",
        db_column="division_path",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # read within a round and kind: the (round, kind, division) index
        verbose_name=_("community"),
    )
    kind = models.CharField(_("list"), max_length=12, choices=UncoveredKind.choices)

    class Meta:
        ordering = ["round_id", "division_id", "person_id"]
        indexes = [models.Index(fields=["round", "kind", "division"], name="uncovered_round_kind_idx")]
        verbose_name = _("uncovered resident")
        verbose_name_plural = _("uncovered residents")

    def __str__(self) -> str:
        return f"{self.round_id} {self.person_id} {self.kind}"


class CoverageChange(models.Model):
    """A registry or sample row whose change a round's incremental extraction must read again.

    Written by the database itself — triggers on ``people_person`` (a person inserted or deleted, their home
    or ``merged_into`` changed) and on ``testing_sample`` (a counted sample inserted — purpose round, not a
    second swab —, any sample deleted, or its person, round, purpose, duplicate flag or time changed),
    migrations 0009, 0011 and 0012 — so that every writer is covered: services, bulk imports, the admin, raw SQL. A
    row names a key; the extraction reads the key's current rows, so reading a change twice is harmless and
    only a missed change could be wrong. Two exceptions, where the log gives the row itself: a sample key whose
    only logged change is the insertion of a counted sample has that row now, and the log row carries its time
    (``sampled_at``; any later change of the sample is logged too, without a time); and a person's newest
    logged change carries the home it leaves (``home``, migration 0012: a person's writers hold the row's lock
    until they commit, so one person's log rows are in the order of the row's versions). ``xact`` is the writer's
    PostgreSQL transaction id (``pg_current_xact_id()``): ids are taken in insertion order but become visible
    in commit order, so a reader asks for the rows its previous snapshot could not see, not only for higher ids.
    """

    person_id = models.BigIntegerField(_("person"))
    round_id = models.BigIntegerField(_("round"), null=True, blank=True)  # NULL: the person's registry row
    xact = models.BigIntegerField(null=True, blank=True)  # the writing transaction (PostgreSQL only)
    # set when the row logs the insertion of a counted sample (purpose round, not a second swab): its time
    sampled_at = models.DateTimeField(null=True, blank=True)
    # a registry row: the home the change leaves ('' when it leaves no resident: merged away, deleted)
    home = models.CharField(max_length=12, null=True, blank=True)

    class Meta:  # internal rows, shown nowhere: no verbose names to translate
        indexes = [models.Index(fields=["xact"], name="coverage_change_xact_idx")]

    def __str__(self) -> str:
        return f"{self.pk} {self.round_id} {self.person_id}"


class CoverageSnapshot(models.Model):
    """The database's half of a round's analytic snapshot (testing.coverage.incremental): the token of the
    snapshot files the last run wrote. Files whose token differs (a restored database, a failed run, another
    database) are not trusted: the run extracts everything again."""

    round = models.OneToOneField(TestRound, on_delete=models.CASCADE, related_name="+", verbose_name=_("round"))
    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.round_id} {self.token}"


class CoverageLogHorizon(models.Model):
    """How far the change log has been pruned (`testing.coverage.incremental.prune_change_log`): every log row
    with an id below ``change_id`` whose writing transaction is below ``xact`` (PostgreSQL; every such row on
    SQLite) may be gone. One row. A snapshot that saw less than this is not trusted: its run extracts
    everything again."""

    change_id = models.BigIntegerField(default=0)
    xact = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.change_id} {self.xact}"
