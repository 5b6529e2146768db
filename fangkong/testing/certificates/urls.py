"""Certificates: the published public keys (public) and the checkpoint verifier (certificates.verify)."""

from django.urls import path

from fangkong.testing.certificates import views

app_name = "certificates"
urlpatterns = [
    path("keys.json", views.published_keys, name="keys"),
    path("verify/", views.verify, name="verify"),
]
