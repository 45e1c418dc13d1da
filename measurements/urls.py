from django.urls import URLPattern, URLResolver

app_name = "measurements"

urlpatterns: list[URLPattern | URLResolver] = []
