"""Occupancy by site, county and day, and the 14-day forecast of rooms needed (an ECharts chart)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.roles import Capability
from fangkong.quarantine.selectors import occupancy


@requires(Capability.QUARANTINE_VIEW)
def occupancy_page(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    sites = occupancy.by_site(request.user)
    forecast = occupancy.forecast(request.user, today=today)
    history = occupancy.by_day(request.user, until=today)
    return render(
        request,
        "quarantine/care/occupancy.html",
        {
            "today": today,
            "sites": sites,
            "counties": occupancy.by_county(sites),
            "history": history,
            "forecast": forecast,
            "chart": {
                **forecast.as_chart(),
                "history_dates": [day.isoformat() for day, _ in history],
                "history": [count for _, count in history],
            },
        },
    )
