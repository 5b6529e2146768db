"""The demo's mass-testing round (全员核酸): one county of the simulated city, sampled through the testing app's
own bulk services — sites per community, ten-person tubes, handover to the demo lab, a lab result file's rows
with one positive pool (whose recall list then reaches the communities), exemptions, and the coverage
reconciliation — so that every testing page has something real to show.

Who is sampled is decided by a seeded generator: most residents, in the 20 hours before now; infants and
some of the very old are exempt (some bedridden: door-to-door list), a few are away, and the rest are the
untested list.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count
from django.utils import timezone

from fangkong.core.models import Division, DivisionLevel, Organization, OrganizationKind, User
from fangkong.people.models import Person
from fangkong.testing import services
from fangkong.testing.coverage.services import reconcile_round_coverage
from fangkong.testing.models import ExemptionReason, RoundStatus, SiteKind, TestRound, Tube

ROUND_NAME = "全员核酸第1轮（演示）"
BATCH = 1000
POSITIVE_POOLS = 1


@dataclass(frozen=True)
class DemoRound:
    round_id: int
    sampled: int
    tubes: int
    exempt: int
    positive_tubes: int
    untested: int


def demo_street() -> Division | None:
    """The demo accounts' street (the first street with two communities, as create_demo_accounts)."""
    return (
        Division.objects.filter(level=DivisionLevel.STREET)
        .annotate(communities=Count("children"))
        .filter(communities__gte=2)
        .order_by("path")
        .first()
    ) or Division.objects.filter(level=DivisionLevel.STREET).order_by("path").first()


def load_testing_round(*, seed: int = 2022, share_sampled: float = 0.93) -> DemoRound | None:
    """Create the demo round once (None when it exists or there is no city)."""
    street = demo_street()
    county = street.parent if street is not None else None
    if street is None or county is None or TestRound.objects.filter(name=ROUND_NAME).exists():
        return None
    # the positive pool is in the demo community worker's community, so their recall list has people on it
    home = street.children.order_by("path").first()
    rng = random.Random(seed)  # noqa: S311 - seeded demo data, not a secret
    now = timezone.now()
    start = now - timedelta(hours=20)
    test_round = services.create_round(
        county, name=ROUND_NAME, starts_at=start, ends_at=now + timedelta(hours=4), by=None, pool_size=10
    )
    test_round = services.set_round_status(test_round, status=RoundStatus.OPEN, by=None)
    lab = _demo_lab(county)
    today = now.date()
    sampled = exempt = 0
    barcodes_by_site: dict[int, list[str]] = {}
    site_division: dict[int, str] = {}
    communities = Division.objects.filter(level=DivisionLevel.COMMUNITY, path__startswith=county.path).order_by("path")
    for index, community in enumerate(communities):
        site = services.create_site(
            community, name=f"{community.name}核酸采样点", kind=SiteKind.FIXED, hourly_capacity=300, by=None
        )
        residents = list(
            Person.objects.filter(  # noqa: TID251 - the demo loader reads the registry it loaded, as loader.py
                home_division=community, merged_into__isnull=True
            )
            .exclude(primary_document_number="")
            .order_by("pk")
            .only("pk", "primary_document_number", "birth_date", "home_division")
        )
        scans: list[services.SampleItem] = []
        for person in residents:
            reason = _exemption(rng, person.birth_date, today)
            if reason is not None:
                services.record_exemption(person, test_round=test_round, reason=reason, by=None)
                exempt += 1
                continue
            if rng.random() > share_sampled:
                continue  # not come yet: the untested list
            scans.append(
                services.SampleItem(
                    person_code=person.primary_document_number,
                    tube_barcode="",
                    sampled_at=start + timedelta(seconds=rng.uniform(0, 19.5 * 3600)),
                )
            )
        scans.sort(key=lambda item: item.sampled_at or start)
        items = [
            services.SampleItem(
                person_code=item.person_code,
                tube_barcode=f"DEMO{index:03d}T{position // 10:05d}",
                sampled_at=item.sampled_at,
                key=f"demo-{community.path}-{position}",
            )
            for position, item in enumerate(scans)
        ]
        for offset in range(0, len(items), BATCH):
            result = services.register_samples(
                site,
                test_round=test_round,
                items=items[offset : offset + BATCH],
                by=None,
                device_id=f"demo-{community.path}",
                batch_key=f"demo-{offset}",
            )
            sampled += len(result.accepted)
        barcodes = sorted({item.tube_barcode for item in items})
        for tube in Tube.objects.filter(barcode__in=barcodes, status="open"):
            services.close_tube(tube, by=None)
        if barcodes:
            handover = services.hand_over(site, test_round=test_round, lab=lab, barcodes=barcodes, by=None)
            services.confirm_receipt(handover, barcodes=barcodes, by=None)
        barcodes_by_site[site.pk] = barcodes
        site_division[site.pk] = community.path
    every_barcode = [barcode for barcodes in barcodes_by_site.values() for barcode in barcodes]
    pooled_at_home = [
        barcode
        for site_id, barcodes in barcodes_by_site.items()
        for barcode in barcodes
        if home is not None and site_division[site_id] == home.path
    ] or every_barcode
    positive = set(rng.sample(pooled_at_home, min(POSITIVE_POOLS, len(pooled_at_home))))
    rows = [
        services.ResultRow(
            row=number,
            barcode=barcode,
            result="positive" if barcode in positive else "negative",
            ct_orf1ab="27.4" if barcode in positive else None,
            ct_n="29.1" if barcode in positive else None,
        )
        for number, barcode in enumerate(every_barcode, start=1)
    ]
    done = services.import_results(lab, rows=rows, by=None, idempotency_key="demo-round-1")
    if done.status != "applied":
        raise RuntimeError(f"demo results refused: {done.errors[:3]}")
    coverage = reconcile_round_coverage(test_round, by=None).run
    return DemoRound(
        round_id=test_round.pk,
        sampled=sampled,
        tubes=len(every_barcode),
        exempt=exempt,
        positive_tubes=len(positive),
        untested=coverage.untested,
    )


def _exemption(rng: random.Random, born: date | None, today: date) -> str | None:
    if born is None:
        return None
    age = (today - born).days / 365.25
    if age < 1:
        return ExemptionReason.INFANT
    if age >= 85 and rng.random() < 0.3:
        return ExemptionReason.BEDRIDDEN
    if rng.random() < 0.01:
        return ExemptionReason.AWAY
    return None


def _demo_lab(county: Division) -> Organization:
    """The demo lab account's organisation (or a lab in the county when the accounts are not created yet)."""
    lab_user = User.objects.filter(username="lab").select_related("organization").first()
    if lab_user is not None and lab_user.organization is not None:
        return lab_user.organization
    lab, _ = Organization.objects.get_or_create(
        division=county, name=f"{county.name}核酸检测实验室", defaults={"kind": OrganizationKind.LAB}
    )
    return lab
