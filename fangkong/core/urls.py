from django.urls import path

from fangkong.core import views

app_name = "core"
urlpatterns = [
    path("audit/", views.audit_log, name="audit_log"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job_detail"),
    path("divisions/", views.divisions, name="divisions"),
    path("divisions/upload/", views.divisions_upload, name="divisions_upload"),
]
