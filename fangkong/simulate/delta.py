"""Delta-variant natural history, with units and sources (see docs/simulator.md for the references).

Durations are in days. Every value is a parameter of ``DiseaseParameters``; the defaults are the documented
Delta values, and validation tests check that an uncontrolled run reproduces the published R and generation
interval ranges (``DELTA_RANGES``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

# Severity classes of the ed8 clinical guideline (诊疗方案第八版): asymptomatic infections are not cases.
ASYMPTOMATIC, MILD, MODERATE, SEVERE, CRITICAL = range(5)
SEVERITY_NAMES = ("asymptomatic", "mild", "moderate", "severe", "critical")

# Ranges the validation tests hold an uncontrolled run to (docs/simulator.md, "Validation targets").
DELTA_RANGES = {
    "R0": (3.2, 8.0),  # Liu & Rocklöv 2021 review: mean 5.08, range 3.2-8
    "generation_interval_mean": (2.9, 5.6),  # Kang 2022 (realised, Guangdong) .. Hart 2022 (intrinsic, upper CrI)
    "incubation_mean": (3.9, 5.0),  # Kang 2022: 4.4 (95 % CI 3.9-5.0)
}


@dataclass(frozen=True)
class DiseaseParameters:
    # Latent period (infection → infectious and PCR-detectable): lognormal. Li B. et al. 2022: ~4 days.
    latent_mean: float = 3.8
    latent_sd: float = 1.3
    # Pre-symptomatic infectious period (infectious → onset); incubation = latent + this ≈ 4.4 (Kang 2022).
    presymptomatic_mean: float = 0.6
    # Relative infectiousness on each day after becoming infectious; viral load peaks around onset and
    # falls over a week (Li B. 2022; Kang 2022: ~74 % of transmission before onset under control).
    infectiousness_profile: tuple[float, ...] = (1.4, 1.3, 0.9, 0.55, 0.3, 0.15, 0.07, 0.03)
    asymptomatic_relative_infectiousness: float = 0.7
    # Share of infections that stay asymptomatic, by age band 0-17, 18-59, 60+ (Chinese 2021 outbreaks,
    # approximate: 10-30 % at detection, more in children).
    asymptomatic_share: tuple[float, float, float] = (0.30, 0.18, 0.10)
    # Severity among symptomatic cases by age band 0-17, 18-59, 60-79, 80+ (mild, moderate, severe, critical);
    # fitted by eye to the shares reported for the Guangzhou (May-Jun 2021) and Nanjing/Yangzhou (Jul-Aug 2021)
    # Delta outbreaks, where the elderly chess-room cluster of Yangzhou drove the severe share up.
    severity_by_age: tuple[tuple[float, float, float, float], ...] = (
        (0.78, 0.21, 0.010, 0.000),
        (0.42, 0.52, 0.050, 0.010),
        (0.22, 0.56, 0.170, 0.050),
        (0.12, 0.48, 0.280, 0.120),
    )
    # Days in a designated hospital after report, by severity (ed8 discharge: two negative tests, then 14 days
    # of isolation elsewhere, so only the hospital stay is counted as a bed).
    hospital_days: tuple[int, int, int, int, int] = (14, 16, 20, 28, 35)
    # PCR detectable from one day before becoming infectious until this many days after infectiousness ends.
    detectable_after_days: int = 6
    pcr_sensitivity: float = 0.92
    # Transmission: per-contact daily probability scale by layer (calibrated so R0 ≈ 5, docs/simulator.md).
    beta: float = 1.45
    beta_household: float = 0.16
    beta_school_class: float = 0.045
    beta_school: float = 0.02
    beta_work: float = 0.05
    beta_community: float = 0.05
    contacts_school_class: float = 12.0
    contacts_school: float = 4.0
    contacts_work: float = 8.0
    contacts_community: float = 6.0
    community_share_outside: float = 0.3  # community contacts drawn from the whole county
    venue: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            # category: (effective contacts per visit, per-contact transmission scale); enclosed places higher
            "internet_cafe": (4.0, 0.10),
            "ktv": (8.0, 0.12),
            "cinema": (3.0, 0.06),
            "chess_room": (6.0, 0.12),
            "restaurant": (3.0, 0.08),
            "hotel": (1.0, 0.05),
            "scenic_spot": (2.0, 0.02),
            "market": (2.0, 0.04),
            "hospital": (2.0, 0.05),
            "elderly_centre": (5.0, 0.08),
        }
    )

    def profile_array(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.infectiousness_profile, dtype=np.float64)


def lognormal(mean: float, sd: float, size: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    sigma2 = np.log(1.0 + (sd / mean) ** 2)
    return rng.lognormal(np.log(mean) - sigma2 / 2.0, np.sqrt(sigma2), size)


def age_band3(age: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.asarray((age >= 18).astype(np.int64) + (age >= 60).astype(np.int64), dtype=np.int64)


def age_band4(age: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.asarray(
        (age >= 18).astype(np.int64) + (age >= 60).astype(np.int64) + (age >= 80).astype(np.int64), dtype=np.int64
    )
