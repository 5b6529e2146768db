"""Synthetic city and outbreak simulator (numpy/pyarrow, no Django).

from fangkong.simulate import build_city, CityConfig, run_outbreak, OutbreakConfig, Interventions
city = build_city(CityConfig(people=20_000, seed=7))
result = run_outbreak(city, OutbreakConfig(days=60, seed=1, interventions=Interventions.testing_and_tracing()))
"""

from fangkong.simulate.city import City, CityConfig, build_city
from fangkong.simulate.delta import DiseaseParameters
from fangkong.simulate.interventions import (
    Checkpoints,
    FeverClinics,
    Interventions,
    MassTesting,
    Tracing,
    Vaccination,
    VenueRules,
)
from fangkong.simulate.outbreak import OutbreakConfig, OutbreakResult, run_outbreak

__all__ = [
    "Checkpoints",
    "City",
    "CityConfig",
    "DiseaseParameters",
    "FeverClinics",
    "Interventions",
    "MassTesting",
    "OutbreakConfig",
    "OutbreakResult",
    "Tracing",
    "Vaccination",
    "VenueRules",
    "build_city",
    "run_outbreak",
]
