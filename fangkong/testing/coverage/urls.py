from django.urls import path

from fangkong.testing.coverage import views

urlpatterns = [
    path("rounds/<int:round_id>/coverage/", views.round_coverage, name="round_coverage"),
    path("rounds/<int:round_id>/coverage/run/", views.run_round_coverage, name="run_round_coverage"),
]
