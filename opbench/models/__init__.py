"""The model zoo. Every module in this package is imported here, and registers its models
in :data:`MODELS` with ``@register_model``: adding a model is adding one file."""

import importlib
import pkgutil

from opbench.models.base import MODELS, FittedModel, ModelEntry, count_parameters, register_model
from opbench.models.surrogate import Surrogate

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["MODELS", "FittedModel", "ModelEntry", "Surrogate", "count_parameters", "register_model"]
