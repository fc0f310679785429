"""opbench: a benchmark suite for neural operators and PDE surrogates."""

__version__ = "0.1.0"
