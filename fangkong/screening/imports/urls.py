from django.urls import path

from fangkong.screening.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("<int:import_id>/", views.mapping, name="mapping"),
    path("<int:import_id>/progress/", views.progress, name="progress"),
    path("<int:import_id>/errors.xlsx", views.error_report, name="errors"),
]
