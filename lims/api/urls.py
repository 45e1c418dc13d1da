from django.urls import path
from rest_framework.routers import SimpleRouter

from lims.api import views

router = SimpleRouter()
router.register("teams", views.TeamViewSet, basename="team")
router.register("tokens", views.ApiTokenViewSet, basename="token")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("units/parse/", views.UnitParseView.as_view(), name="unit-parse"),
    *router.urls,
]
