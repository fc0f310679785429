"""Numerical operators shared by models and dataset families (transforms, stencils)."""
