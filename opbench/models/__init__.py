"""The model zoo: one module per model, each registering its models in :data:`MODELS` with
``@register_model``. Adding a model is adding one file; the registry imports the modules
lazily (:class:`~opbench.registry.Registry`)."""

from opbench.models.base import (
    MODELS,
    FittedModel,
    ModelEntry,
    ModelFlags,
    count_parameters,
    register_model,
)
from opbench.models.surrogate import Surrogate, build_surrogate, load_surrogate

__all__ = [
    "MODELS",
    "FittedModel",
    "ModelEntry",
    "ModelFlags",
    "Surrogate",
    "build_surrogate",
    "count_parameters",
    "load_surrogate",
    "register_model",
]
