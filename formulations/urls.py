from django.urls import URLPattern, URLResolver

app_name = "formulations"

urlpatterns: list[URLPattern | URLResolver] = []
