"""Pages of the testing app, one module per topic: the sampling station, tubes, handovers and receipts, lab
result uploads with their error report, the recall list with retest recording, rounds, a round's exemptions
and door-to-door list, and the sampling flags to review. Parse → service or selector → render. The names are
re-exported here for `testing/urls.py`."""

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
from fangkong.testing.views.exemptions import door_to_door, exemption_add, exemption_list, exemption_revoke
from fangkong.testing.views.flags import flag_list, flag_review
from fangkong.testing.views.recalls import member_retest, recall_list
from fangkong.testing.views.rounds import round_list
from fangkong.testing.views.station import station, station_scan

__all__ = [
    "door_to_door",
    "exemption_add",
    "exemption_list",
    "exemption_revoke",
    "flag_list",
    "flag_review",
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
