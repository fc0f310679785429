"""One tiny generic registry, used for datasets, models, metrics, losses and schedules.

Entries are added by decorators in the module that defines them, so there is no central
list to edit. A registry may name the package its entries live in: it then imports them
**lazily**, on first use. ``get(name)`` first imports ``<package>.<name>`` if that module
exists (``opbench.data.condiff`` for the family ``condiff``, ``opbench.models.fno`` for
``fno``), and only if the name is still unknown every module of the package; listing the
names imports every module. So a ConDiff run never imports the AirfRANS family (and VTK).

Third-party packages extend opbench through the Python entry-point groups
``opbench.models`` and ``opbench.datasets``: each entry point names a module, which is
imported (and so registers its entries) when the registry is first searched in full.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Generic, TypeVar

from opbench.errors import unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object mapping filled by ``@registry.register(name)``.

    Args:
        kind: what the entries are, for messages (``model``).
        entry_point_group: the entry-point group third-party modules register through.
        package: the package whose modules register the entries (imported lazily).

    ``get`` raises a :class:`~opbench.errors.ConfigError` that suggests close names.
    """

    def __init__(
        self, kind: str, entry_point_group: str | None = None, package: str | None = None
    ) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._entry_point_group = entry_point_group
        self._package = package
        self._complete = entry_point_group is None and package is None

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers its argument under ``name`` and returns it unchanged."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj

    def _import_named(self, name: str) -> None:
        """Import ``<package>.<name>`` when such a module exists."""
        if self._package is None or not name.isidentifier():
            return
        module = f"{self._package}.{name}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)

    def _import_all(self) -> None:
        """Import every module of the package and every entry point, once."""
        if self._complete:
            return
        self._complete = True
        if self._package is not None:
            package = importlib.import_module(self._package)
            for module in pkgutil.iter_modules(package.__path__):
                importlib.import_module(f"{self._package}.{module.name}")
        if self._entry_point_group is not None:
            for entry_point in metadata.entry_points(group=self._entry_point_group):
                entry_point.load()

    def get(self, name: str) -> T:
        if name not in self._entries:
            self._import_named(name)
        if name not in self._entries:
            self._import_all()
        try:
            return self._entries[name]
        except KeyError:
            raise unknown_name(self.kind, name, self._entries) from None

    def names(self) -> list[str]:
        self._import_all()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str) and name not in self._entries:
            self._import_named(name)
            if name not in self._entries:
                self._import_all()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        return [(name, self._entries[name]) for name in self.names()]
