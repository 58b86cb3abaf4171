"""Checkpoints of models with random weights, for the export tests: what digit-train writes, without training."""

import torch

from lstm_digits.training.checkpoint import save_checkpoint, versions
from lstm_digits.training.model import DigitRNN, ModelConfig
from lstm_digits.training.recipes import DEFAULT


def random_checkpoint(path, config: ModelConfig, seed=0):
    """A complete checkpoint of a model with random weights (this seed) and the default recipe."""
    torch.manual_seed(seed)
    model = DigitRNN(config)
    save_checkpoint(path, {"model_config": config.to_dict(), "recipe": DEFAULT.to_dict(), "state_dict": model.state_dict(),
                           "metrics": [], "versions": versions(), "seed": seed, "complete": True})
    return path
