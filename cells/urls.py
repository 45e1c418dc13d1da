"""Pages of the cells app."""

from django.urls import URLPattern, URLResolver, path

from cells import views

app_name = "cells"

urlpatterns: list[URLPattern | URLResolver] = [
    path("cells/", views.cell_list, name="cell-list"),
    path("cells/new/", views.cell_assemble, name="cell-assemble"),
    path("cells/bulk/", views.cell_bulk_assemble, name="cell-bulk-assemble"),
    path("cells/lookup/", views.cell_lookup, name="cell-lookup"),
    path("cells/code/<str:code>/", views.cell_by_code, name="cell-by-code"),
    path("cells/<int:pk>/", views.cell_detail, name="cell-detail"),
    path("cells/<int:pk>/state/", views.cell_change_state, name="cell-change-state"),
    path("cells/<int:pk>/postmortem/", views.cell_postmortem, name="cell-postmortem"),
    path("cells/<int:pk>/files/<int:attachment_id>/", views.cell_attachment, name="cell-attachment"),
    path("cells/<int:pk>/provenance/", views.cell_provenance, name="cell-provenance"),
    path("cells/<int:pk>/label/", views.cell_label, name="cell-label"),
    path("provenance/where-used/", views.where_used, name="where-used"),
]
