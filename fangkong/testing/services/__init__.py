"""Every state change of the testing app, by topic. Import from here: `from fangkong.testing import services`.

- scan: `register_sample` (one scan); sampling: `close_tube` and the rules of a scan;
  batches: `register_samples` (device batches, idempotent)
- custody: `hand_over`, `confirm_receipt`, `receive_missing_tube`
- results: `import_results` (API rows), `import_result_file` (.csv/.xlsx/.xls); result_rows: `check_rows`,
  `map_columns`, `ResultRow` (reading and checking a lab's rows)
- recall: `record_retest` (and `open_recall` / `resolve_retest` / `resolve_resamples`, called by the result
  import): positive-pool recall and invalid-tube resampling
- rounds: `create_site`, `add_sampler`, `create_round`, `set_round_status`, `record_exemption`,
  `revoke_exemption`, `set_lab_capacity`
- flags: `review_flag` (confirm or dismiss a sampling flag with a note)

docs/testing.md describes the rules and the signatures.
"""

from fangkong.testing.services.batches import BatchResult, register_samples
from fangkong.testing.services.common import TestingError, TestingErrorCode
from fangkong.testing.services.custody import confirm_receipt, hand_over, receive_missing_tube
from fangkong.testing.services.flags import review_flag
from fangkong.testing.services.recall import open_recall, record_retest, resolve_resamples, resolve_retest
from fangkong.testing.services.result_rows import ResultRow, check_rows, map_columns
from fangkong.testing.services.results import import_result_file, import_results
from fangkong.testing.services.rounds import (
    add_sampler,
    create_round,
    create_site,
    record_exemption,
    revoke_exemption,
    set_lab_capacity,
    set_round_status,
)
from fangkong.testing.services.sampling import ItemAccepted, ItemError, SampleItem, close_tube
from fangkong.testing.services.scan import register_sample

__all__ = [
    "BatchResult",
    "ItemAccepted",
    "ItemError",
    "ResultRow",
    "SampleItem",
    "TestingError",
    "TestingErrorCode",
    "add_sampler",
    "check_rows",
    "close_tube",
    "confirm_receipt",
    "create_round",
    "create_site",
    "hand_over",
    "import_result_file",
    "import_results",
    "map_columns",
    "open_recall",
    "receive_missing_tube",
    "record_exemption",
    "record_retest",
    "register_sample",
    "register_samples",
    "resolve_resamples",
    "review_flag",
    "revoke_exemption",
    "resolve_retest",
    "set_lab_capacity",
    "set_round_status",
]
