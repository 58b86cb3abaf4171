"""Which images each training step sees: shuffled epochs that depend only on (seed, epoch), this
process's share of each batch, and augmentation drawn from explicit generators, so a run and a
resumed run see exactly the same batches."""

import torch

from .augment import augment
from .data import Split, to_float
from .nondigits import add_outliers, pool_for
from .recipes import Recipe


def generator_for(*seeds: int) -> torch.Generator:
    value = 0
    for seed in seeds:
        value = (value * 1_000_003 + seed) % (2**63)
    return torch.Generator().manual_seed(value)


class BatchOrder:
    """Shuffled epochs that depend only on (seed, epoch): iteration k always sees the same batch,
    so a resumed run continues exactly where the interrupted one stopped."""

    def __init__(self, size: int, batch_size: int, seed: int):
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.steps_per_epoch = size // batch_size
        self._epoch, self._order = -1, None

    def batch(self, iteration: int) -> torch.Tensor:
        epoch, step = divmod(iteration, self.steps_per_epoch)
        if epoch != self._epoch:
            self._epoch, self._order = epoch, torch.randperm(self.size, generator=generator_for(self.seed, epoch))
        return self._order[step * self.batch_size : (step + 1) * self.batch_size]


class Batches:
    """Iteration k's batch: this process's share of it, augmented if the recipe says so. Where
    anything else a batch should hold (extra images, other labels) is added."""

    def __init__(self, train: Split, recipe: Recipe, seed: int, train_limit: int | None, world: int, rank: int):
        split = train if train_limit is None else train.subset(train_limit)
        self.images, self.labels = to_float(split.images), split.labels
        self.order = BatchOrder(len(split), recipe.batch_size, seed)
        self.local_batch = recipe.batch_size // world
        self.augment, self.seed, self.rank = recipe.augment, seed, rank
        self.outliers = pool_for(recipe.iterations, self.local_batch, seed) if recipe.outlier_exposure else None

    def get(self, iteration: int) -> tuple[torch.Tensor, torch.Tensor]:
        indices = self.order.batch(iteration)[self.rank * self.local_batch : (self.rank + 1) * self.local_batch]
        images, labels = self.images[indices], self.labels[indices]
        if self.augment:
            images = augment(images, generator_for(self.seed, iteration, self.rank, 7), labels)
        if self.outliers is not None:  # non-digits, labelled NONDIGIT, for outlier exposure
            images, labels = add_outliers(images, labels, self.outliers, augment, generator_for(self.seed, iteration, self.rank, 11))
        return images, labels
