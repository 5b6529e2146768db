from django.urls import include, path

from fangkong.testing import views

app_name = "testing"
urlpatterns: list = [
    path("station/", views.station, name="station"),
    path("station/scan/", views.station_scan, name="station_scan"),
    path("tubes/", views.tube_list, name="tubes"),
    path("tubes/<int:tube_id>/", views.tube_detail, name="tube"),
    path("handovers/", views.handover_list, name="handovers"),
    path("handovers/new/", views.handover_new, name="handover_new"),
    path("handovers/<int:handover_id>/", views.handover_detail, name="handover"),
    path("handovers/<int:handover_id>/receive/", views.handover_receive, name="handover_receive"),
    path("results/upload/", views.result_upload, name="result_upload"),
    path("results/<int:result_import_id>/", views.result_import, name="result_import"),
    path("recalls/", views.recall_list, name="recalls"),
    path("recalls/members/<int:member_id>/retest/", views.member_retest, name="member_retest"),
    path("rounds/", views.round_list, name="rounds"),
    path("rounds/<int:round_id>/exemptions/", views.exemption_list, name="exemptions"),
    path("rounds/<int:round_id>/exemptions/add/", views.exemption_add, name="exemption_add"),
    path("rounds/<int:round_id>/door-to-door/", views.door_to_door, name="door_to_door"),
    path("exemptions/<int:exemption_id>/revoke/", views.exemption_revoke, name="exemption_revoke"),
    path("flags/", views.flag_list, name="flags"),
    path("flags/<int:flag_id>/review/", views.flag_review, name="flag_review"),
    path("", include("fangkong.testing.coverage.urls")),  # round coverage pages (testing.coverage)
]
