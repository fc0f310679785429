"""``python -m opbench`` (e.g. ``torchrun --nproc_per_node 2 -m opbench run ...``)."""

from opbench.cli import main

main()
