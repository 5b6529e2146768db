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
    path("", include("fangkong.testing.coverage.urls")),  # round coverage pages (testing.coverage)
]
