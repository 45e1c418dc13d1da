"""API routes of the inventory (included under /api/v1/)."""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from formulations.api import inventory_views as views

router = SimpleRouter()
router.register("chemicals", views.ChemicalViewSet, basename="chemical")
router.register("suppliers", views.SupplierViewSet, basename="supplier")
router.register("locations", views.StorageLocationViewSet, basename="location")
router.register("lots", views.StockLotViewSet, basename="lot")
router.register("stock-transactions", views.StockTransactionViewSet, basename="stock-transaction")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
