"""Pages of the synthesis part (the nav links to /recipes/ and /batches/)."""

from django.urls import URLPattern, URLResolver, path

from formulations import views_synthesis as v

urlpatterns: list[URLPattern | URLResolver] = [
    path("recipes/", v.recipe_list, name="recipe-list"),
    path("recipes/new/", v.recipe_create, name="recipe-create"),
    path("recipes/composition-preview/", v.composition_preview, name="composition-preview"),
    path("recipes/<int:pk>/", v.recipe_detail, name="recipe-detail"),
    path("recipes/versions/<int:pk>/", v.version_detail, name="version-detail"),
    path("recipes/versions/<int:pk>/edit/", v.version_edit, name="version-edit"),
    path("batches/", v.batch_list, name="batch-list"),
    path("batches/new/", v.batch_log, name="batch-log"),
    path("batches/preview/<int:pk>/", v.batch_preview, name="batch-preview"),
    path("batches/<int:pk>/", v.batch_detail, name="batch-detail"),
    path("batches/<int:pk>/files/<int:file_pk>/", v.batch_file, name="batch-file"),
    path("moulds/", v.mould_list, name="mould-list"),
    path("membranes/", v.membrane_list, name="membrane-list"),
    path("membranes/new/", v.membrane_create, name="membrane-create"),
    path("membranes/preview/", v.membrane_preview, name="membrane-preview"),
    path("membranes/<int:pk>/", v.membrane_detail, name="membrane-detail"),
    path("pellets/", v.pellet_list, name="pellet-list"),
    path("pellets/new/", v.pellet_create, name="pellet-create"),
    path("pellets/preview/", v.pellet_preview, name="pellet-preview"),
    path("pellets/<int:pk>/", v.pellet_detail, name="pellet-detail"),
    path("electrodes/", v.electrode_list, name="electrode-list"),
    path("electrodes/new/", v.electrode_create, name="electrode-create"),
    path("electrodes/preview/", v.electrode_preview, name="electrode-preview"),
    path("electrodes/<int:pk>/", v.electrode_detail, name="electrode-detail"),
]
