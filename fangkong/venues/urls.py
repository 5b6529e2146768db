from django.urls import path

from fangkong.venues import views

app_name = "venues"
urlpatterns = [
    path("", views.venue_list, name="list"),
    path("new/", views.venue_create, name="create"),
    path("<int:venue_id>/", views.venue_detail, name="detail"),
    path("<int:venue_id>/edit/", views.venue_edit, name="edit"),
    path("<int:venue_id>/check-in/", views.staff_check_in, name="staff_check_in"),
    path("<int:venue_id>/poster/", views.poster, name="poster"),
    path("<int:venue_id>/qr.svg", views.qr_svg, name="qr"),
    path("check-ins/<int:check_in_id>/out/", views.staff_check_out, name="staff_check_out"),
    path("imports/", views.import_list, name="imports"),
    path("imports/<int:checkin_import_id>/", views.import_mapping, name="import_mapping"),
    path("imports/<int:checkin_import_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:checkin_import_id>/errors.xlsx", views.import_errors, name="import_errors"),
    # Public: the page a venue's QR code opens, and the visitor's own check-out.
    path("c/<str:venue_code>/", views.check_in, name="check_in"),
    path("c/<str:venue_code>/out/", views.check_out, name="check_out"),
]
