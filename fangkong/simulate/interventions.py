"""Policy levers of the outbreak model.

Durations, test days, pool sizes and the certificate window are the policy edition's; ``Interventions``
holds them as plain values so runs are reproducible, and ``Interventions.from_edition`` fills them from the
platform's versioned editions (``fangkong.core.editions``, no Django), so the simulator and the platform
apply the same rules. The dataclass defaults equal ed8 with the 4-day Delta look-back.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fangkong.core.editions import PolicyEdition


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
    # Co-visitors listed as close contacts per case visit: this × the venue's effective contacts (KTV 8 → 16).
    venue_close_contact_factor: float = 2.0
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
    def from_edition(
        cls,
        edition: str | PolicyEdition = "ed8",
        *,
        fever_clinics: bool = True,
        tracing: bool = True,
        mass_testing: bool = False,
        checkpoints: bool = False,
        vaccination: bool = False,
        venues: VenueRules | None = None,
        lookback_days: int | None = None,
    ) -> Interventions:
        """Levers with durations, test days, pool size, turnaround, certificate window and room reserve taken
        from a policy edition (``fangkong.core.editions``); the booleans say which levers are on.

        ``lookback_days`` overrides the edition's close-contact look-back (ed8 says 2; many cities used 4 for
        Delta in 2021 — pass a local override edition or this argument).
        """
        from fangkong.core.editions import PolicyEdition as _Edition
        from fangkong.core.editions import load_edition

        rules: _Edition = load_edition(edition) if isinstance(edition, str) else edition
        close = rules.close_contact
        secondary = rules.secondary_contact
        testing = rules.testing
        tracing_lever = Tracing(
            lookback_days=lookback_days if lookback_days is not None else close.lookback_days,
            close_quarantine_days=close.centralized_days,
            close_test_days=tuple(close.centralized_test_days),
            secondary=secondary.identified,
            secondary_quarantine_days=secondary.quarantine_days if secondary.identified else 0,
            secondary_test_days=tuple(secondary.test_days) if secondary.identified else (),
            secondary_centralized=secondary.setting == "centralized",
            rooms_per_10k=float(rules.quarantine_sites.rooms_per_10k_residents),
        )
        round_hours = testing.city_round_under_5m_hours
        testing_lever = MassTesting(
            pool_size=testing.default_pool_size,
            turnaround_days=math.ceil(testing.pooled_turnaround_hours / 24),
            days_per_round=max(1, math.ceil(round_hours / 24)),
        )
        arrivals = rules.risk_area_arrivals
        checkpoint_lever = Checkpoints(
            certificate_hours=rules.certificate.valid_hours,
            quarantine_days=arrivals.high_risk_days if arrivals.high_risk_setting == "centralized" else 0,
        )
        fever = FeverClinics(turnaround_days=math.ceil(testing.fever_clinic_turnaround_hours / 24) - 1)
        return cls(
            fever_clinics=fever if fever_clinics else None,
            tracing=tracing_lever if tracing else None,
            mass_testing=testing_lever if mass_testing else None,
            venues=venues,
            checkpoints=checkpoint_lever if checkpoints else None,
            vaccination=Vaccination() if vaccination else None,
            edition=rules.id,
        )
