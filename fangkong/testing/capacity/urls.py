from django.urls import path

from fangkong.testing.capacity import views

app_name = "capacity"
urlpatterns = [
    path("", views.planner, name="planner"),
]
