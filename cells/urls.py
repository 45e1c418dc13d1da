from django.urls import URLPattern, URLResolver

app_name = "cells"

urlpatterns: list[URLPattern | URLResolver] = []
