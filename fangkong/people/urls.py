from django.urls import path

from fangkong.people import views

app_name = "people"
urlpatterns = [
    path("", views.search, name="search"),
    path("new/", views.create, name="create"),
    path("export.xlsx", views.export, name="export"),
    path("<int:person_id>/", views.detail, name="detail"),
    path("<int:person_id>/reveal/", views.reveal, name="reveal"),
    path("merges/", views.merge_queue, name="merge_queue"),
    path("merges/<int:candidate_id>/decide/", views.decide_merge, name="decide_merge"),
]
