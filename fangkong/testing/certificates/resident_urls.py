"""The public page where a resident looks up their own results and certificate."""

from django.urls import path

from fangkong.testing.certificates import views

app_name = "results"
urlpatterns = [
    path("", views.results, name="lookup"),
]
