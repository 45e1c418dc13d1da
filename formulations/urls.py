"""Pages of formulations: the inventory part and the synthesis part, each in its own module."""

from formulations import urls_inventory, urls_synthesis

app_name = "formulations"

urlpatterns = [*urls_inventory.urlpatterns, *urls_synthesis.urlpatterns]
