"""API routes of formulations: the inventory part and the synthesis part, each in its own module."""

from formulations.api import inventory_urls, synthesis_urls

urlpatterns = [*inventory_urls.urlpatterns, *synthesis_urls.urlpatterns]
