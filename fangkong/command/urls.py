from django.urls import path

from fangkong.command import views

app_name = "command"
urlpatterns = [
    path("map.geojson", views.map_geojson, name="map_geojson"),
    path("plan/", views.plan, name="plan"),
    path("campaign/", views.campaign, name="campaign"),
    path("plan/<uuid:plan_id>/", views.plan_detail, name="plan_detail"),
]
