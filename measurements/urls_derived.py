"""Pages of the derived part (included at the site root, namespace "measurements")."""

from django.urls import URLPattern, URLResolver, path

from measurements import views_derived as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("derived/", views.derived_list, name="derived-list"),
    path("derived/export.csv", views.derived_export, name="derived-export"),
    path("derived/<int:pk>/", views.derived_detail, name="derived-detail"),
    path("comparison/", views.comparison_page, name="comparison"),
    path("comparison/figure.json", views.comparison_figure, name="comparison-figure"),
    path("comparison/export.csv", views.comparison_export, name="comparison-export"),
    path("series/", views.series_list, name="series-list"),
    path("series/<int:pk>/", views.series_detail, name="series-detail"),
    path("series/<int:pk>/compute/", views.series_compute, name="series-compute"),
    path("series/<int:pk>/figures/arrhenius.json", views.series_arrhenius_figure, name="series-arrhenius"),
    path("series/<int:pk>/figures/arrhenius.csv", views.series_arrhenius_csv, name="series-arrhenius-csv"),
    path("measurements/<int:pk>/figures/nyquist-fit.json", views.nyquist_fit_figure, name="nyquist-fit"),
    path("measurements/<int:pk>/figures/nyquist-fit.csv", views.nyquist_fit_csv, name="nyquist-fit-csv"),
]
