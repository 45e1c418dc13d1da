from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from lims import views, views_audit
from lims.api.urls import urlpatterns as core_api
from lims.login import ThrottledLoginView
from lims.url_index import indexed

api_v1 = [
    *core_api,
    path("", include("formulations.api.urls")),
    path("", include("cells.api.urls")),
    path("", include("measurements.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves Swagger UI's start-up code as a script of its own: the CSP allows no inline script
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]

routes = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("search/", views.search_view, name="search"),
    path("history/", views_audit.audit_list, name="audit-list"),
    path("history/users/<int:pk>/", views_audit.user_history, name="user-history"),
    path("history/<str:label>/<int:pk>/", views_audit.record_history, name="record-history"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    indexed("api/v1/", api_v1),
    indexed("", "formulations.urls"),
    indexed("", "cells.urls"),
    indexed("", "measurements.urls"),
]

# resolved through an index of the routes by their first segment (lims/url_index.py)
urlpatterns = [indexed("", routes)]
