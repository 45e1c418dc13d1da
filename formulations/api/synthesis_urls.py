"""API routes of the synthesis part of formulations (included under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from formulations.api import synthesis_views as v

router = SimpleRouter()
router.register("recipes", v.RecipeViewSet, basename="recipe")
router.register("recipe-versions", v.RecipeVersionViewSet, basename="recipe-version")
router.register("recipe-components", v.RecipeComponentViewSet, basename="recipe-component")
router.register("process-steps", v.ProcessStepViewSet, basename="process-step")
router.register("batches", v.BatchViewSet, basename="batch")
router.register("moulds", v.MouldViewSet, basename="mould")
router.register("membranes", v.MembraneViewSet, basename="membrane")
router.register("pellets", v.PelletViewSet, basename="pellet")
router.register("electrodes", v.ElectrodeViewSet, basename="electrode")

urlpatterns = router.urls
