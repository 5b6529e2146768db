from django.urls import include, path

app_name = "testing"
urlpatterns: list = [
    path("", include("fangkong.testing.coverage.urls")),  # round coverage pages (testing.coverage)
]
