"""HQ-level records: the simulated outbreak the demo runs on, kept for the dashboard and planning."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import jurisdiction_key


class SimulationRun(models.Model):
    """One run of the outbreak simulator loaded into the platform: its parameters, where its Parquet data sets
    are, and its daily series (reported cases, quarantine rooms, tests, beds) for the dashboard."""

    SCOPE_FIELD: ClassVar[str] = "division__path"

    division = jurisdiction_key(_("city"))
    seed = models.PositiveIntegerField(_("seed"))
    people = models.PositiveIntegerField(_("population"))
    days = models.PositiveIntegerField(_("days"))
    start_date = models.DateField(_("first day"))
    data_dir = models.CharField(_("data sets"), max_length=500)
    daily = models.JSONField(_("daily series"), default=list)
    summary = models.JSONField(_("summary"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("simulation run")
        verbose_name_plural = _("simulation runs")

    def __str__(self) -> str:
        return f"seed {self.seed}, {self.people} people, {self.days} days"
