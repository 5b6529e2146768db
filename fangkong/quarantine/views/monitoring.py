"""Monitoring pages: the overview (floors, open alerts, who has not reported), a floor's bulk reading entry, the
residents' self-report page behind a signed link, and acknowledging alerts."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.access import AuthedRequest, public, requires
from fangkong.core.editions import quarantine_day
from fangkong.core.errors import DomainError
from fangkong.core.policy import active_edition
from fangkong.core.roles import Capability
from fangkong.core.scope import get_scoped, scoped
from fangkong.quarantine.models import Floor, MonitoringAlert, ReadingSlot, Site
from fangkong.quarantine.services import monitoring


def _day(request: HttpRequest, key: str = "on") -> date:
    raw = request.GET.get(key) or request.POST.get(key) or ""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return timezone.localdate()


@requires(Capability.QUARANTINE_VIEW)
def overview(request: AuthedRequest) -> HttpResponse:
    site_id = request.GET.get("site")
    sites = scoped(Site.objects.all(), request.user).prefetch_related("buildings__floors").order_by("name")
    selected = int(site_id) if site_id and site_id.isdigit() else None
    return render(
        request,
        "quarantine/care/monitoring.html",
        {
            "sites": sites,
            "alerts": monitoring.open_alerts(request.user, site_id=selected)[:200],
            "missing": monitoring.non_reporting(request.user, site_id=selected)[:500],
            "site_id": selected,
            "today": timezone.localdate(),
        },
    )


def _floor_context(floor: Floor, *, on: date, slot: str, values: dict[int, tuple[str, str]] | None = None) -> dict:
    placements = list(monitoring.floor_placements(floor))
    saved = monitoring.readings_for(floor, on=on, slot=slot)
    rows = []
    for placement in placements:
        reading = saved.get(placement.pk)
        typed = (values or {}).get(placement.pk)
        rows.append(
            {
                "placement": placement,
                "day": quarantine_day(placement.start_date, on),
                "reading": reading,
                "temperature": typed[0] if typed else (str(reading.temperature) if reading else ""),
                "symptom": typed[1] if typed else (reading.symptoms[0] if reading and reading.symptoms else ""),
            }
        )
    return {
        "floor": floor,
        "site": floor.building.site,
        "rows": rows,
        "on": on,
        "slot": slot,
        "slots": ReadingSlot.choices,
        "symptoms": monitoring.SYMPTOMS.items(),
    }


@requires(Capability.QUARANTINE_WORK)
@require_http_methods(["GET", "POST"])
def floor_readings(request: AuthedRequest, floor_id: int) -> HttpResponse:
    """All residents of a floor in one form: one temperature (and symptom) per person, one submit."""
    floor = get_scoped(Floor.objects.select_related("building__site"), request.user, pk=floor_id)
    on = _day(request)
    default_slot = monitoring.current_slot(active_edition(floor.building.site.division_id))
    slot = request.POST.get("slot") or request.GET.get("slot") or default_slot
    slot = slot if slot in monitoring.SLOTS else default_slot
    template = "quarantine/care/_floor_form.html" if request.htmx else "quarantine/care/floor.html"
    if request.method != "POST":
        return render(request, template, _floor_context(floor, on=on, slot=slot))
    ids = [int(value) for value in request.POST.getlist("placement") if value.isdigit()]
    values = {pid: (request.POST.get(f"temperature-{pid}", ""), request.POST.get(f"symptom-{pid}", "")) for pid in ids}
    rows = [
        monitoring.ReadingRow(placement_id=pid, temperature=text, symptoms=(symptom,) if symptom else ())
        for pid, (text, symptom) in values.items()
    ]
    try:
        result = monitoring.record_floor_readings(floor, on=on, slot=slot, rows=rows, by=request.user)
    except DomainError as error:
        context = _floor_context(floor, on=on, slot=slot, values=values)
        context.update(error=error, bad_rows={d["row"]: d for d in error.details})
        return render(request, template, context, status=400)
    context = _floor_context(floor, on=on, slot=slot)
    context.update(result=result)
    return render(request, template, context)


@requires(Capability.QUARANTINE_WORK)
@require_POST
def alert_acknowledge(request: AuthedRequest, alert_id: int) -> HttpResponse:
    alert = get_scoped(MonitoringAlert.objects.select_related("placement"), request.user, pk=alert_id)
    monitoring.acknowledge_alert(
        alert, by=request.user, close=request.POST.get("close") == "1", note=request.POST.get("note", "")
    )
    return redirect(_safe_next(request, "quarantine:monitoring"))


@public
@require_http_methods(["GET", "POST"])
def self_report(request: HttpRequest, token: str) -> HttpResponse:
    """A resident's own reading, behind the signed link texted at each check-in time (no login)."""
    try:
        link = monitoring.open_report_link(token)
    except DomainError as error:
        return render(request, "quarantine/care/self_report.html", {"error": error}, status=404)
    context: dict = {"link": link, "symptoms": monitoring.SYMPTOMS.items(), "slot": ReadingSlot(link.slot).label}
    if request.method == "POST":
        try:
            reading, _alert = monitoring.record_self_report(
                link, temperature=request.POST.get("temperature", ""), symptoms=request.POST.getlist("symptoms")
            )
        except DomainError as error:
            context.update(error=error, temperature=request.POST.get("temperature", ""))
            return render(request, "quarantine/care/self_report.html", context, status=400)
        context["reading"] = reading
    return render(request, "quarantine/care/self_report.html", context)


def _safe_next(request: HttpRequest, default: str) -> str:
    """The page to go back to: `next` when it is on this site, else `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse(default)
