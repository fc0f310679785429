"""A plain U-Net (Ronneberger, Fischer, Brox 2015), the convolutional baseline that
ConDiff, CFDBench and PDEBench all report.

Encoder: at each of ``depth`` levels two 3×3 convolutions (each followed by batch norm and
ReLU), then 2×2 max pooling; channel widths w, 2w, 4w, …; a bottleneck of width 2^depth·w;
decoder: 2×2 transposed convolution, concatenation with the skip, two 3×3 convolutions;
a 1×1 output convolution. ConDiff's reference: depth 3, width 32.

Any H×W works: inputs are padded (replicate) to a multiple of 2^depth and the output is
cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from opbench.config import Size
from opbench.data.base import Batch
from opbench.models.base import CONDIFF_NOTEBOOK_TRAIN, SMALL_TRAIN, register_model
from opbench.tasks import TaskSpec

CITATION = (
    "Ronneberger, Fischer, Brox. U-Net: Convolutional Networks for Biomedical Image "
    "Segmentation. MICCAI 2015. arXiv:1505.04597"
)


def double_conv(
    in_channels: int, out_channels: int, mid_channels: int | None = None
) -> nn.Sequential:
    """(3×3 conv without bias, batch norm, ReLU) ×2; the first conv maps to ``mid_channels``
    (default ``out_channels``). Shared by the U-Net and LSM's U-Net backbone."""
    mid_channels = mid_channels or out_channels
    return nn.Sequential(
        nn.Conv2d(in_channels, mid_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(mid_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(mid_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, width: int, depth: int) -> None:
        super().__init__()
        self.depth = depth
        widths = [width * 2**level for level in range(depth + 1)]
        self.encoders = nn.ModuleList()
        channels = in_channels
        for w in widths[:-1]:
            self.encoders.append(double_conv(channels, w))
            channels = w
        self.bottleneck = double_conv(channels, widths[-1])
        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in reversed(range(depth)):
            self.upsamplers.append(nn.ConvTranspose2d(widths[level + 1], widths[level], 2, 2))
            self.decoders.append(double_conv(2 * widths[level], widths[level]))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, batch: Batch) -> Tensor:
        x = batch["x"]
        height, width = x.shape[-2:]
        multiple = 2**self.depth
        pad_h, pad_w = (-height) % multiple, (-width) % multiple
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for upsample, decoder, skip in zip(
            self.upsamplers, self.decoders, reversed(skips), strict=True
        ):
            x = decoder(torch.cat([upsample(x), skip], dim=1))
        return self.head(x)[..., :height, :width]


@register_model(
    "unet",
    layouts=("grid", "grid-timestep"),
    presets={
        "small": {"model": {"width": 16, "depth": 3}, "train": SMALL_TRAIN},
        # ConDiff notebooks: depth 3, width 32, AdamW 1e-3, wd 1e-2, ×0.5 every 50 of 400
        # epochs, batch 16, loss = batch mean of the absolute L2 norm of the error.
        "paper": {
            "model": {"width": 32, "depth": 3},
            "train": {**CONDIFF_NOTEBOOK_TRAIN, "batch_size": 16},
        },
    },
    citation=CITATION,
    description="U-Net (conv-BN-ReLU ×2 per level, max-pool down, transposed-conv up)",
)
def build_unet(task: TaskSpec, width: Size = 32, depth: Size = 3) -> nn.Module:
    return UNet(task.in_channels, task.out_channels, width, depth)
