from django.urls import include, path

from fangkong.screening import views

app_name = "screening"
urlpatterns = [
    path("", views.work_list, name="work_list"),
    path("register/", views.register, name="register"),
    path("entries/<int:entry_id>/", views.entry_detail, name="entry"),
    path("entries/<int:entry_id>/attempt/", views.attempt, name="attempt"),
    path("report/", views.report, name="report"),
    path("report/names/", views.report_names, name="report_names"),
    path("report/export.xlsx", views.report_export, name="report_export"),
    path("imports/", include("fangkong.screening.imports.urls")),
]
