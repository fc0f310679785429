"""AirfRANS (Bonnet et al. 2022): airfoil geometry, panel method and boundary layer."""
