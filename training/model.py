"""The sequence model: a recurrent network reads a 28x28 image as 28 time steps of 28 pixels."""

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .cells import CELLS
from .contract import IMAGE_SIZE, LABELS, MNIST_MEAN, MNIST_STD


@dataclass(frozen=True)
class ModelConfig:
    cell: str = "lstm"
    layers: int = 1
    hidden: int = 128
    bidirectional: bool = False

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, not {self.cell!r}")
        if self.layers < 1 or self.hidden < 1:
            raise ValueError("layers and hidden must be positive")

    def to_dict(self) -> dict:
        return asdict(self)


class DigitRNN(nn.Module):
    """Input: [N, 28, 28] float pixels in [0, 1], white digit on black, rows as time steps.
    Output: [N, 10] logits. Normalisation is part of the model."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        # Buffers, not parameters: they travel with the state_dict and into exported graphs,
        # but the parameter listing stays the tutorial's.
        self.register_buffer("mean", torch.tensor(MNIST_MEAN))
        self.register_buffer("std", torch.tensor(MNIST_STD))
        kwargs = dict(
            input_size=IMAGE_SIZE,
            hidden_size=config.hidden,
            num_layers=config.layers,
            batch_first=True,
            bidirectional=config.bidirectional,
        )
        if config.cell == "lstm":
            self.rnn = nn.LSTM(**kwargs)
        elif config.cell == "gru":
            self.rnn = nn.GRU(**kwargs)
        else:
            self.rnn = nn.RNN(nonlinearity=config.cell.removeprefix("rnn-"), **kwargs)
        directions = 2 if config.bidirectional else 1
        self.head = nn.Linear(directions * config.hidden, len(LABELS))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = (image - self.mean) / self.std
        output, _ = self.rnn(x)  # [N, 28, directions * hidden]
        if self.config.bidirectional:
            # The forward direction has read all rows at the last step, the backward one at the first.
            hidden = self.config.hidden
            last = torch.cat([output[:, -1, :hidden], output[:, 0, hidden:]], dim=1)
        else:
            last = output[:, -1]
        return self.head(last)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def describe(model: DigitRNN) -> str:
    """The model and its parameter shapes, listed as the tutorial lists them."""
    lines = [str(model), "", "Parameters:"]
    for name, param in model.named_parameters():
        lines.append(f"  {name:<24} {list(param.shape)}")
    lines.append(f"Total: {parameter_count(model):,} parameters")
    return "\n".join(lines)
