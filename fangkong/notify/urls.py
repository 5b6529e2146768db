from django.urls import path

from fangkong.notify import views

app_name = "notify"
urlpatterns = [path("", views.message_list, name="message_list")]
