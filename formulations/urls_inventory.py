"""Pages of the inventory (the nav points at /inventory/lots/)."""

from django.urls import URLPattern, URLResolver, path

from formulations import views_inventory as v

urlpatterns: list[URLPattern | URLResolver] = [
    path("inventory/", v.inventory_home, name="inventory"),
    path("inventory/lots/", v.lot_list, name="lot-list"),
    path("inventory/lots/receive/", v.lot_receive, name="lot-receive"),
    path("inventory/lots/bulk-receive/", v.lot_bulk_receive, name="lot-bulk-receive"),
    path("inventory/lots/code/", v.lot_by_code, name="lot-lookup"),
    path("inventory/lots/code/<str:code>/", v.lot_by_code, name="lot-by-code"),
    path("inventory/lots/<int:pk>/", v.lot_detail, name="lot-detail"),
    path("inventory/lots/<int:pk>/label/", v.lot_label, name="lot-label"),
    path("inventory/lots/<int:pk>/edit/", v.lot_edit, name="lot-edit"),
    path("inventory/lots/<int:pk>/consume/", v.lot_consume, name="lot-consume"),
    path("inventory/lots/<int:pk>/return/", v.lot_return, name="lot-return"),
    path("inventory/lots/<int:pk>/adjust/", v.lot_adjust, name="lot-adjust"),
    path("inventory/lots/<int:pk>/dispose/", v.lot_dispose, name="lot-dispose"),
    path("inventory/lots/<int:pk>/quarantine/", v.lot_quarantine, name="lot-quarantine"),
    path("inventory/lots/<int:pk>/release/", v.lot_release, name="lot-release"),
    path("inventory/chemicals/", v.chemical_list, name="chemical-list"),
    path("inventory/chemicals/new/", v.chemical_edit, name="chemical-create"),
    path("inventory/chemicals/<int:pk>/", v.chemical_detail, name="chemical-detail"),
    path("inventory/chemicals/<int:pk>/edit/", v.chemical_edit, name="chemical-edit"),
    path("inventory/suppliers/", v.supplier_list, name="supplier-list"),
    path("inventory/suppliers/new/", v.supplier_edit, name="supplier-create"),
    path("inventory/suppliers/<int:pk>/edit/", v.supplier_edit, name="supplier-edit"),
    path("inventory/locations/", v.location_tree, name="location-tree"),
    path("inventory/locations/new/", v.location_edit, name="location-create"),
    path("inventory/locations/<int:pk>/", v.location_detail, name="location-detail"),
    path("inventory/locations/<int:pk>/edit/", v.location_edit, name="location-edit"),
]
