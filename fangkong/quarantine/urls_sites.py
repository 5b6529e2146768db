"""URLs of sites, rooms, staff, placement, the waitlist and pickup batches (included by quarantine/urls.py)."""

from django.urls import path

from fangkong.quarantine.views import placement, sites, staff

urlpatterns = [
    path("sites/", sites.site_list, name="site_list"),
    path("sites/new/", sites.site_create, name="site_create"),
    path("sites/<int:site_id>/", sites.site_detail, name="site_detail"),
    path("sites/<int:site_id>/edit/", sites.site_edit, name="site_edit"),
    path("sites/<int:site_id>/status/", sites.site_status, name="site_status"),
    path("sites/<int:site_id>/checklist/", sites.checklist_add, name="checklist_add"),
    path("sites/<int:site_id>/rooms/", sites.rooms_create, name="rooms_create"),
    path("checklist/<int:item_id>/", sites.checklist_toggle, name="checklist_toggle"),
    path("rooms/<int:room_id>/status/", sites.room_status, name="room_status"),
    path("sites/<int:site_id>/staff/", staff.site_staff, name="site_staff"),
    path("sites/<int:site_id>/staff/add/", staff.staff_add, name="staff_add"),
    path("staff/<int:staff_id>/roster/", staff.roster_start, name="roster_start"),
    path("rosters/<int:roster_id>/check/", staff.staff_check, name="staff_check"),
    path("rosters/<int:roster_id>/leave/", staff.roster_leave, name="roster_leave"),
    path("queue/", placement.queue, name="queue"),
    path("queue/place/", placement.place, name="place"),
    path("queue/<int:entry_id>/with-companion/", placement.place_with_companion, name="place_with_companion"),
    path("waitlist/", placement.waitlist, name="waitlist"),
    path("waitlist/place/", placement.waitlist_place, name="waitlist_place"),
    path("waitlist/<int:waiting_id>/cancel/", placement.waitlist_cancel, name="waitlist_cancel"),
    path("pickups/", placement.pickups, name="pickups"),
    path("sites/<int:site_id>/pickups/", placement.pickup_create, name="pickup_create"),
    path("pickups/<int:batch_id>/", placement.pickup_detail, name="pickup_detail"),
    path("pickups/<int:batch_id>/status/", placement.pickup_status, name="pickup_status"),
    path("placements/<int:placement_id>/", placement.placement_detail, name="placement_detail"),
    path("placements/<int:placement_id>/arrive/", placement.placement_arrive, name="placement_arrive"),
    path("placements/<int:placement_id>/cancel/", placement.placement_cancel, name="placement_cancel"),
]
