"""CFDBench (Luo, Chen & Zhang 2023): the published layout, opbench's own Navier–Stokes
generator, and the autoregressive task with rollouts (registered by ``family``)."""
