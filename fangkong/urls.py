from django.contrib import admin
from django.urls import include, path

from fangkong.api import api
from fangkong.command import views as command_views
from fangkong.core import views as core_views

urlpatterns = [
    path("api/", api.urls),  # first: the sampling devices' scans are the busiest requests
    path("", command_views.home, name="home"),
    path("login/", core_views.login, name="login"),
    path("logout/", core_views.logout, name="logout"),
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("health/", core_views.health, name="health"),
    path("people/", include("fangkong.people.urls")),
    path("screening/", include("fangkong.screening.urls")),
    path("report/", include("fangkong.screening.selfreport.urls")),
    path("tracing/", include("fangkong.tracing.urls")),
    path("venues/", include("fangkong.venues.urls")),
    path("testing/planner/", include("fangkong.testing.capacity.urls")),
    path("testing/", include("fangkong.testing.urls")),
    path("results/", include("fangkong.testing.certificates.resident_urls")),
    path("certificates/", include("fangkong.testing.certificates.urls")),
    path("quarantine/", include("fangkong.quarantine.urls")),
    path("core/", include("fangkong.core.urls")),
    path("command/", include("fangkong.command.urls")),
    path("messages/", include("fangkong.notify.urls")),
    path("admin/", admin.site.urls),
]
