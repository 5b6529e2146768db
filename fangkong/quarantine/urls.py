from django.urls import path  # noqa: F401 - pages are added here

from fangkong.quarantine.urls_care import urlpatterns as care_urls
from fangkong.quarantine.urls_sites import urlpatterns as site_urls

app_name = "quarantine"
urlpatterns: list = [*site_urls, *care_urls]
