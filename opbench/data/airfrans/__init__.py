"""AirfRANS (Bonnet et al. 2022): the published VTK layout, airfoil geometry, panel method
and boundary layer, and the point-cloud task; importing the package registers the family
(:mod:`.family`)."""

from opbench.data.airfrans.family import AirfRANSFamily, AirfRANSOptions

__all__ = ["AirfRANSFamily", "AirfRANSOptions"]
