"""Pages of the ingest part (the nav points at /uploads/ and /measurements/)."""

from django.urls import URLPattern, URLResolver, path

from measurements import views_ingest as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("uploads/", views.upload_list, name="upload-list"),
    path("uploads/<int:pk>/", views.upload_detail, name="upload-detail"),
    path("uploads/<int:pk>/retry/", views.upload_retry, name="upload-retry"),
    path("measurements/", views.measurement_list, name="measurement-list"),
    path("measurements/<int:pk>/", views.measurement_detail, name="measurement-detail"),
]
