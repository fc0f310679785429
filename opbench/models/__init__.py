"""The model zoo. Each module registers its models in :data:`MODELS` on import."""

from opbench.models import baselines, fno, unet  # noqa: F401  (register the models)
from opbench.models.base import MODELS, FittedModel, ModelEntry, count_parameters, register_model
from opbench.models.surrogate import Surrogate

__all__ = ["MODELS", "FittedModel", "ModelEntry", "Surrogate", "count_parameters", "register_model"]
