"""Pages of the testing app, one module per topic: the sampling station, tubes, handovers and receipts, lab
result uploads with their error report, the recall list with retest recording, and rounds. Parse → service or
selector → render. The names are re-exported here for `testing/urls.py`."""

from fangkong.testing.views.custody import (
    handover_detail,
    handover_list,
    handover_new,
    handover_receive,
    result_import,
    result_upload,
    tube_detail,
    tube_list,
)
from fangkong.testing.views.recalls import member_retest, recall_list
from fangkong.testing.views.rounds import round_list
from fangkong.testing.views.station import station, station_scan

__all__ = [
    "handover_detail",
    "handover_list",
    "handover_new",
    "handover_receive",
    "member_retest",
    "recall_list",
    "result_import",
    "result_upload",
    "round_list",
    "station",
    "station_scan",
    "tube_detail",
    "tube_list",
]
