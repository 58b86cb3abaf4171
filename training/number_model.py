"""The number reader: an LSTM reads a strip column by column and a CTC head emits a digit string.

The digit model reads a 28x28 image as 28 rows of 28 pixels; the number reader reads a 28-row strip
of any width as its columns, left to right, one 28-pixel column per time step. At every column it
gives 11 scores: the digits 0-9 and the CTC blank (Graves et al. 2006). Reading them greedily, best
class per column, repeats merged, blanks dropped, gives the number: any length, no segmentation.
Optionally a small convolution looks at each column's neighbours first and halves the columns.
"""

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .contract import MNIST_MEAN, MNIST_STD
from .number_strings import STRIP_HEIGHT

CLASSES = 11  # the digits 0-9, then the blank
CONV_CHANNELS = 32


@dataclass(frozen=True)
class NumberConfig:
    layers: int = 2
    hidden: int = 128
    conv: bool = True  # two 3x3 convolutions and a 2x2 pooling before the LSTM (docs/NUMBERS.md: it earns its place)

    def __post_init__(self):
        if self.layers < 1 or self.hidden < 1:
            raise ValueError("layers and hidden must be positive")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def column_stride(self) -> int:
        """Strip columns per output column."""
        return 2 if self.conv else 1


class NumberRNN(nn.Module):
    """Input: [N, 28, W] float strips in [0, 1], white on black, and each strip's width [N], or
    None when every strip is W wide (one strip alone: what the exported file reads).
    Output: [T, N, 11] log-probabilities per output column (CTC's layout) and each strip's
    output columns [N]; T = W / column_stride."""

    def __init__(self, config: NumberConfig):
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.tensor(MNIST_MEAN))
        self.register_buffer("std", torch.tensor(MNIST_STD))
        if config.conv:
            self.conv = nn.ModuleList([nn.Conv2d(1, CONV_CHANNELS, 3, padding=1),
                                       nn.Conv2d(CONV_CHANNELS, CONV_CHANNELS, 3, padding=1)])
            features = CONV_CHANNELS * (STRIP_HEIGHT // 2)
        else:
            self.conv = None
            features = STRIP_HEIGHT
        self.rnn = nn.LSTM(features, config.hidden, num_layers=config.layers, batch_first=True,
                           bidirectional=True)
        self.head = nn.Linear(2 * config.hidden, CLASSES)

    def _convolve(self, x: torch.Tensor, widths: torch.Tensor | None) -> torch.Tensor:
        """Two 3x3 convolutions, then 2x2 max pooling. In a padded batch, the columns past each
        strip's width are zeroed after every layer, as the convolution's own padding is for a strip alone."""
        if widths is None:
            for layer in self.conv:
                x = layer(x).relu()
            return F.max_pool2d(x, 2)
        inside = (torch.arange(x.shape[-1]) < widths[:, None]).to(x.dtype)[:, None, None, :]  # [N, 1, 1, W]
        for layer in self.conv:
            x = (layer(x * inside)).relu()
        return F.max_pool2d(x * inside, 2)

    def output_columns(self, widths: torch.Tensor) -> torch.Tensor:
        return widths // self.config.column_stride

    def forward(self, strips: torch.Tensor, widths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = (strips - self.mean) / self.std
        if self.conv is not None:
            x = self._convolve(x.unsqueeze(1), widths)  # [N, C, 14, W/2]
            x = x.flatten(1, 2)  # [N, C*14, W/2]
        columns = x.transpose(1, 2)  # [N, T, features]: one time step per column
        if widths is None:
            output, _ = self.rnn(columns)
            lengths = torch.full((columns.shape[0],), columns.shape[1])
            return self.head(output).log_softmax(2).transpose(0, 1), lengths
        lengths = self.output_columns(widths).clamp(1, columns.shape[1])
        # Packed, so each strip is read to its own last column: padding never reaches the backward
        # direction, and a strip reads the same alone as in a batch.
        packed = pack_padded_sequence(columns, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=columns.shape[1])
        return self.head(output).log_softmax(2).transpose(0, 1), lengths
