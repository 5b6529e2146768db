"""Households and ages with a Chinese structure (7th census, 2020).

Household sizes follow the census shares (mean 2.62). Each household gets a composition template (single,
couple, couple with children, three generations ...) and ages are drawn per role so that parents are 22-34
years older than children. The resulting age pyramid is close to the census one; tests check the broad bands
(0-14 ≈ 18 %, 60+ ≈ 19 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Census 2020, share of people by 5-year band (0-4, 5-9, ..., 80-84, 85-99).
AGE_BAND_SHARES = np.array(
    [
        5.46,
        6.48,
        6.04,
        5.24,
        5.35,
        6.64,
        8.85,
        6.95,
        6.63,
        8.29,
        8.81,
        7.14,
        5.23,
        5.20,
        3.53,
        2.29,
        1.47,
        0.97,
    ]
)
# Census 2020 household sizes 1..7+ (family households).
HOUSEHOLD_SIZE_SHARES = np.array([25.4, 29.7, 20.9, 13.2, 6.2, 3.0, 1.6])

HEAD, SPOUSE, CHILD, PARENT = 0, 1, 2, 3
_TEMPLATES: tuple[tuple[tuple[int, ...], float], ...] = (
    ((HEAD,), 1.0),
    ((HEAD, SPOUSE), 0.58),
    ((HEAD, CHILD), 0.30),
    ((HEAD, PARENT), 0.12),
    ((HEAD, SPOUSE, CHILD), 0.78),
    ((HEAD, SPOUSE, PARENT), 0.12),
    ((HEAD, CHILD, PARENT), 0.10),
    ((HEAD, SPOUSE, CHILD, CHILD), 0.50),
    ((HEAD, SPOUSE, CHILD, PARENT), 0.50),
    ((HEAD, SPOUSE, CHILD, PARENT, PARENT), 0.55),
    ((HEAD, SPOUSE, CHILD, CHILD, PARENT), 0.45),
    ((HEAD, SPOUSE, CHILD, CHILD, PARENT, PARENT), 1.0),
    ((HEAD, SPOUSE, CHILD, CHILD, CHILD, PARENT, PARENT), 1.0),
)


def _band_ages(
    count: int, rng: np.random.Generator, low: int, high: int, tilt: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Ages in [low, high] drawn from the census pyramid multiplied by a per-year tilt."""
    years = np.arange(100)
    per_year = np.concatenate([np.repeat(AGE_BAND_SHARES[:17] / 5.0, 5), np.repeat(AGE_BAND_SHARES[17] / 15.0, 15)])
    weights = per_year * tilt
    weights[:low] = 0.0
    weights[high + 1 :] = 0.0
    return rng.choice(years, size=count, p=weights / weights.sum()).astype(np.int64)


@dataclass
class Households:
    size: npt.NDArray[np.int64]  # per household
    person_household: npt.NDArray[np.int64]  # per person
    role: npt.NDArray[np.int8]
    age: npt.NDArray[np.int64]
    is_male: npt.NDArray[np.bool_]
    shares_surname: npt.NDArray[np.bool_]  # takes the household's surname (else an independent one)


def make_households(people: int, rng: np.random.Generator) -> Households:
    shares = HOUSEHOLD_SIZE_SHARES / HOUSEHOLD_SIZE_SHARES.sum()
    estimate = int(people / 2.62 * 1.05) + 16
    sizes = rng.choice(np.arange(1, 8), size=estimate, p=shares)
    while sizes.sum() < people:
        sizes = np.concatenate([sizes, rng.choice(np.arange(1, 8), size=estimate // 4 + 16, p=shares)])
    cumulative = np.cumsum(sizes)
    last = int(np.searchsorted(cumulative, people))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= int(cumulative[last] - people)
    sizes = sizes[sizes > 0]
    n_households = sizes.shape[0]

    # Composition template per household, chosen among the templates of its size.
    template_roles = np.full((len(_TEMPLATES), 7), -1, dtype=np.int8)
    for t, (roles, _) in enumerate(_TEMPLATES):
        template_roles[t, : len(roles)] = roles
    template_sizes = np.array([len(r) for r, _ in _TEMPLATES])
    template = np.empty(n_households, dtype=np.int64)
    u: npt.NDArray[np.float64] = np.asarray(rng.random(n_households))
    for size in range(1, 8):
        candidates = np.flatnonzero(template_sizes == size)
        weights = np.array([_TEMPLATES[c][1] for c in candidates])
        cumulative_weights = np.cumsum(weights / weights.sum())
        mask = sizes == size
        template[mask] = candidates[np.minimum(np.searchsorted(cumulative_weights, u[mask]), len(candidates) - 1)]
    has_child = (template_roles[template] == CHILD).any(axis=1)
    has_spouse = (template_roles[template] == SPOUSE).any(axis=1)
    has_parent = (template_roles[template] == PARENT).any(axis=1)

    # Household-level ages.
    years = np.arange(100, dtype=np.float64)
    head_age = np.empty(n_households, dtype=np.int64)
    eldest_child = np.zeros(n_households, dtype=np.int64)
    young = (years >= 20) & (years <= 34)
    old = years >= 60
    single = ~has_child & ~has_spouse & ~has_parent
    couple = ~has_child & has_spouse & ~has_parent
    with_child = has_child
    with_parent_only = ~has_child & has_parent
    head_age[single] = _band_ages(int(single.sum()), rng, 18, 99, np.where(young, 1.6, np.where(old, 1.1, 0.6)))
    head_age[couple] = _band_ages(int(couple.sum()), rng, 22, 95, np.where(young, 0.9, np.where(old, 1.2, 0.7)))
    eldest_child[with_child] = _band_ages(
        int(with_child.sum()),
        rng,
        0,
        40,
        np.where(years <= 9, 1.2, np.where(years <= 19, 2.4, np.where(years <= 29, 1.0, 0.25))),
    )
    head_age[with_child] = np.minimum(eldest_child[with_child] + rng.integers(22, 35, int(with_child.sum())), 92)
    head_age[with_parent_only] = _band_ages(int(with_parent_only.sum()), rng, 20, 50, np.ones(100))
    spouse_gap = np.rint(rng.normal(-1.5, 3.0, n_households)).astype(np.int64)
    head_is_male = rng.random(n_households) < np.where(has_spouse, 0.85, 0.5)

    # Expand to people.
    household = np.repeat(np.arange(n_households, dtype=np.int64), sizes)
    starts = np.cumsum(sizes) - sizes
    position = np.arange(people, dtype=np.int64) - starts[household]
    role = template_roles[template[household], np.minimum(position, 6)]
    role = np.where(role < 0, CHILD, role).astype(np.int8)
    h_age = head_age[household]
    age = np.empty(people, dtype=np.int64)
    is_head = role == HEAD
    age[is_head] = h_age[is_head]
    is_spouse = role == SPOUSE
    age[is_spouse] = np.clip(h_age[is_spouse] + spouse_gap[household[is_spouse]], 18, 99)
    is_child = role == CHILD
    child_rank = position - 1 - is_spouse.astype(np.int64)  # not exact, only used for spacing
    sibling_gap = np.where(child_rank[is_child] > 0, rng.integers(1, 7, int(is_child.sum())), 0)
    age[is_child] = np.clip(
        eldest_child[household[is_child]] - sibling_gap * np.maximum(child_rank[is_child], 0), 0, 99
    )
    is_parent = role == PARENT
    age[is_parent] = np.clip(h_age[is_parent] + rng.integers(22, 31, int(is_parent.sum())), 45, 96)
    # Single-parent households with an adult-child template: keep parent older than the child.
    is_male = np.empty(people, dtype=bool)
    is_male[is_head] = head_is_male[household[is_head]]
    is_male[is_spouse] = ~head_is_male[household[is_spouse]]
    other = ~(is_head | is_spouse)
    is_male[other] = rng.random(int(other.sum())) < 0.51
    shares_surname = ~is_spouse
    if is_parent.any():  # a grandmother keeps her own surname
        shares_surname[is_parent & ~is_male] = False
    return Households(sizes.astype(np.int64), household, role, age, is_male, shares_surname)
