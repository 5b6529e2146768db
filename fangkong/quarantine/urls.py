from django.urls import path  # noqa: F401 - pages are added here

from fangkong.quarantine.urls_care import urlpatterns as care_urls

app_name = "quarantine"
urlpatterns: list = [*care_urls]
