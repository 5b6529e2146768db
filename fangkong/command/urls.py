app_name = "command"
urlpatterns: list[object] = []
