from django.urls import path

from fangkong.screening.selfreport import views

app_name = "selfreport"
urlpatterns = [
    path("", views.report, name="report"),
    path("qr.png", views.qr_png, name="qr"),
    path("poster/", views.poster, name="poster"),
    path("list/", views.staff_list, name="list"),
]
