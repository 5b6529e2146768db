from django.urls import path

from fangkong.tracing import views

app_name = "tracing"
urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("register/<int:person_id>/", views.case_register, name="case_register"),
    path("<int:case_id>/", views.case_detail, name="case"),
    path("<int:case_id>/clock/", views.clock_done, name="clock_done"),
    path("<int:case_id>/timeline/", views.timeline_add, name="timeline_add"),
    path("<int:case_id>/contacts/", views.contact_add, name="contact_add"),
    path("<int:case_id>/companions/", views.companion_screening, name="companion_screening"),
    path("<int:case_id>/suggest/", views.suggest, name="suggest"),
    path("contacts/<int:contact_id>/decide/", views.contact_decide, name="contact_decide"),
    path("chains/", views.chains, name="chains"),
]
