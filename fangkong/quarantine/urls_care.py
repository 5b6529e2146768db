"""URLs of monitoring, scheduled tests, release, home quarantine and occupancy (included by quarantine/urls.py)."""

from django.urls import path

from fangkong.quarantine.views import home, monitoring, occupancy, release, tests_due

urlpatterns = [
    path("monitoring/", monitoring.overview, name="monitoring"),
    path("floors/<int:floor_id>/readings/", monitoring.floor_readings, name="floor_readings"),
    path("alerts/<int:alert_id>/acknowledge/", monitoring.alert_acknowledge, name="alert_acknowledge"),
    path("report/<str:token>/", monitoring.self_report, name="self_report"),
    path("tests/", tests_due.tests_today, name="tests_today"),
    path("tests/<int:test_id>/record/", tests_due.test_record, name="test_record"),
    path("transfers/<int:transfer_id>/advance/", tests_due.transfer_advance, name="transfer_advance"),
    path("release/", release.release_list, name="release_list"),
    path("placements/<int:placement_id>/release/", release.release_placement, name="release_placement"),
    path("certificates/<int:certificate_id>/", release.certificate, name="certificate"),
    path("certificates/<int:certificate_id>/handover/", release.handover_acknowledge, name="handover_acknowledge"),
    path("home/", home.home_care, name="home_care"),
    path("home/<int:placement_id>/check-in/", home.check_in, name="home_check_in"),
    path("home/<int:placement_id>/violation/", home.violation, name="home_violation"),
    path("occupancy/", occupancy.occupancy_page, name="occupancy"),
]
