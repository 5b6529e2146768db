"""Policy levers of the outbreak model.

Durations, test days, pool sizes and the certificate window are the policy edition's; ``Interventions``
holds them as plain values so runs are reproducible, and ``Interventions.from_edition`` fills them from
``fangkong.core.editions`` when that package is present.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tracing:
    lookback_days: int = 4  # ed8: 2 days; many cities used 4 for Delta in 2021
    delay_days: int = 1  # report → contacts placed
    close_quarantine_days: int = 14  # ed8: 14 days centralized (+7 home monitoring, not a room)
    close_test_days: tuple[int, ...] = (1, 4, 7, 14)
    secondary: bool = True
    secondary_quarantine_days: int = 7
    secondary_test_days: tuple[int, ...] = (1, 4, 7)
    secondary_centralized: bool = True  # ed8: centralized; ed9: home
    rooms_per_10k: float | None = 20.0  # ≥ 20 rooms per 10,000 residents (Oct 2021); None = unlimited
    # Probability that a contact in each setting is found by the investigation.
    household_probability: float = 1.0
    school_probability: float = 0.95
    work_probability: float = 0.8
    coworkers_listed: int = 20
    venue_probability: float = 0.8  # venue-code check-ins
    community_probability: float = 0.25  # contacts an investigator still finds in casual settings


@dataclass(frozen=True)
class MassTesting:
    pool_size: int = 10
    turnaround_days: int = 1  # pooled tubes within 24 h
    rounds: int = 3
    interval_days: int = 3
    days_per_round: int = 2  # whole city within 2 days (< 5 M people)
    start_after_first_report_days: int = 1
    coverage: float = 0.95
    pool_sensitivity_loss_per_10: float = 0.03  # dilution: sensitivity falls slightly with pool size


@dataclass(frozen=True)
class VenueRules:
    closed_categories: frozenset[str] = frozenset()
    capacity_caps: dict[str, float] = field(default_factory=dict)  # category → share of capacity allowed
    start_after_first_report_days: int = 0


@dataclass(frozen=True)
class Checkpoints:
    certificate_hours: int = 48  # a negative test within this window before arrival
    quarantine_days: int = 14  # arrivals from high-risk areas: centralized quarantine (0 = certificate only)
    compliance: float = 0.9  # share of arrivals who pass a checkpoint rather than an uncontrolled route


@dataclass(frozen=True)
class Vaccination:
    coverage: dict[str, float] = field(default_factory=lambda: {"3-11": 0.0, "12-17": 0.80, "18-59": 0.85, "60+": 0.65})
    # Two doses of inactivated vaccine against Delta, Guangzhou 2021 (Li X.-N. et al. 2021):
    # 59 % against infection, 70 % against moderate disease, 100 % against severe (small numbers; 90 % used).
    efficacy_infection: float = 0.59
    efficacy_moderate: float = 0.70
    efficacy_severe: float = 0.90


@dataclass(frozen=True)
class FeverClinics:
    daily_visit_probability: tuple[float, float, float, float] = (0.15, 0.35, 0.6, 0.9)  # mild..critical
    asymptomatic_daily_probability: float = 0.0
    turnaround_days: int = 0  # single tube within 6 h: same day


@dataclass(frozen=True)
class Interventions:
    """Which levers are on. ``None`` = lever off. The default is no intervention at all."""

    fever_clinics: FeverClinics | None = None
    tracing: Tracing | None = None
    mass_testing: MassTesting | None = None
    venues: VenueRules | None = None
    checkpoints: Checkpoints | None = None
    vaccination: Vaccination | None = None
    edition: str | None = None

    @classmethod
    def none(cls) -> Interventions:
        return cls()

    @classmethod
    def testing_and_tracing(cls) -> Interventions:
        """Symptomatic testing at fever clinics plus tracing with quarantine (the benchmark's setting)."""
        return cls(fever_clinics=FeverClinics(), tracing=Tracing())

    @classmethod
    def full(cls) -> Interventions:
        return cls(
            fever_clinics=FeverClinics(),
            tracing=Tracing(),
            mass_testing=MassTesting(),
            venues=VenueRules(
                closed_categories=frozenset({"internet_cafe", "ktv", "chess_room", "scenic_spot"}),
                capacity_caps={"cinema": 0.5, "restaurant": 0.5, "market": 0.75},
            ),
            checkpoints=Checkpoints(),
            vaccination=Vaccination(),
        )

    def replace(self, **changes: Any) -> Interventions:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_edition(cls, edition_id: str = "ed8", **levers: Any) -> Interventions:
        """Levers with their durations, test days and pool sizes taken from a policy edition.

        ``levers`` names the levers to switch on (``tracing=True, mass_testing=True, ...``). Values the
        edition does not carry keep their defaults here.
        """
        edition = _load_edition(edition_id)
        tracing = Tracing(
            **_pick(
                edition,
                Tracing,
                {
                    "close_quarantine_days": ("close_contact_centralized_days", "close_contact_quarantine_days"),
                    "close_test_days": ("close_contact_test_days",),
                    "secondary_quarantine_days": ("secondary_contact_quarantine_days", "secondary_contact_days"),
                    "secondary_test_days": ("secondary_contact_test_days",),
                    "lookback_days": ("close_contact_lookback_days", "lookback_days"),
                },
            )
        )
        testing = MassTesting(
            **_pick(
                edition,
                MassTesting,
                {
                    "pool_size": ("default_pool_size", "pool_size"),
                    "turnaround_days": ("pooled_turnaround_days",),
                },
            )
        )
        checkpoints = Checkpoints(
            **_pick(
                edition,
                Checkpoints,
                {
                    "certificate_hours": ("certificate_hours", "test_certificate_hours"),
                    "quarantine_days": ("high_risk_arrival_centralized_days", "arrival_quarantine_days"),
                },
            )
        )
        return cls(
            fever_clinics=FeverClinics() if levers.get("fever_clinics", True) else None,
            tracing=tracing if levers.get("tracing", True) else None,
            mass_testing=testing if levers.get("mass_testing", False) else None,
            venues=levers.get("venues"),
            checkpoints=checkpoints if levers.get("checkpoints", False) else None,
            vaccination=Vaccination() if levers.get("vaccination", False) else None,
            edition=edition_id,
        )


def _load_edition(edition_id: str) -> object:
    try:
        from fangkong.core import editions  # no Django inside (layering contract)
    except ImportError as error:  # pragma: no cover - depends on the platform checkout
        raise LookupError("fangkong.core.editions is not available; pass parameters explicitly") from error
    loader = getattr(editions, "load_edition")  # noqa: B009 - optional module, checked at run time
    edition: object = loader(edition_id)
    return edition


def _find(obj: object, name: str) -> Any:
    """Look a field up on the edition or any of its nested dataclasses (one level deep)."""
    if hasattr(obj, name):
        return getattr(obj, name)
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            child = getattr(obj, f.name)
            if dataclasses.is_dataclass(child) and hasattr(child, name):
                return getattr(child, name)
    return None


def _pick(edition: object, target: type, names: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for ours, theirs in names.items():
        for name in theirs:
            value = _find(edition, name)
            if value is not None:
                values[ours] = tuple(value) if isinstance(value, list) else value
                break
    return values
