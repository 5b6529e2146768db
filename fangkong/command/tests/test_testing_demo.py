"""The demo's mass-testing round, on a small registry: sampled through the bulk services, one positive pool
whose recall list exists, exemptions, and a coverage reconciliation; loading twice adds nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fangkong.command.testing_demo import ROUND_NAME, load_testing_round
from fangkong.core.identity import make_resident_id
from fangkong.testing.coverage.models import RoundCoverageRun
from fangkong.testing.models import Recall, RecallMember, Sample, TestRound, Tube, TubeResult


def test_demo_round(tree: dict[str, Any], register: Any) -> None:
    born = dt.date(1980, 1, 1)
    for n in range(46):
        register("a" if n % 2 else "b", name=f"居民{n}", document_number=make_resident_id("410302", born, n + 10))
    loaded = load_testing_round(seed=1, share_sampled=0.9)
    assert loaded is not None
    test_round = TestRound.objects.get(name=ROUND_NAME)
    assert test_round.division_id == "410302"
    samples = Sample.objects.filter(round=test_round)
    assert samples.count() == loaded.sampled > 30
    assert Tube.objects.filter(round=test_round).count() == loaded.tubes
    assert all(tube.sample_count <= 10 for tube in Tube.objects.filter(round=test_round))
    assert TubeResult.objects.filter(tube__round=test_round).count() == loaded.tubes
    recall = Recall.objects.get(round=test_round)
    assert RecallMember.objects.filter(recall=recall).count() == recall.tube.sample_count
    run = RoundCoverageRun.objects.get(round=test_round)
    assert run.tested == loaded.sampled
    assert run.residents == 46
    assert run.untested == loaded.untested == 46 - loaded.sampled - loaded.exempt
    assert load_testing_round(seed=1) is None


def test_the_positive_pool_is_in_the_demo_community(tree: dict[str, Any], register: Any) -> None:
    born = dt.date(1980, 1, 1)
    for n in range(30):
        register("a" if n % 2 else "b", name=f"居民{n}", document_number=make_resident_id("410302", born, n + 10))
    assert load_testing_round(seed=3) is not None
    assert Recall.objects.get().tube.division_id == tree["a"].path  # the street's first community
