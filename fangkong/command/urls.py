app_name = "command"
urlpatterns: list = []  # type: ignore[type-arg]
