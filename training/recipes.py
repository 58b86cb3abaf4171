"""Training recipes: the tutorial's, kept exactly, and our default."""

import math
from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Recipe:
    name: str
    optimizer: str  # "sgd" or "adamw"
    lr: float
    batch_size: int
    iterations: int
    eval_every: int
    weight_decay: float = 0.0
    warmup: int = 0  # linear warm-up iterations
    schedule: str = "constant"  # "constant" or "cosine" (to lr * final_lr_fraction)
    final_lr_fraction: float = 0.0
    grad_clip: float | None = None  # max global gradient norm
    augment: bool = False  # random affine + stroke width, see augment.py
    label_smoothing: float = 0.0

    def lr_at(self, iteration: int) -> float:
        if iteration < self.warmup:
            return self.lr * (iteration + 1) / self.warmup
        if self.schedule == "constant":
            return self.lr
        progress = (iteration - self.warmup) / max(1, self.iterations - self.warmup)
        floor = self.lr * self.final_lr_fraction
        return floor + (self.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    def to_dict(self) -> dict:
        return asdict(self)


# "Long Short-Term Memory (LSTM) network with PyTorch": SGD, lr 0.1, batch 100, 3000 iterations,
# evaluation every 500. (The tutorial evaluates on the test set; we evaluate on validation and
# report test once at the end.)
SEED = Recipe(name="seed", optimizer="sgd", lr=0.1, batch_size=100, iterations=3000, eval_every=500)

DEFAULT = Recipe(
    name="default",
    optimizer="adamw",
    lr=3e-3,
    batch_size=128,
    iterations=8000,
    eval_every=500,
    weight_decay=0.01,
    warmup=300,
    schedule="cosine",
    final_lr_fraction=0.01,
    grad_clip=1.0,
    augment=True,
    label_smoothing=0.05,
)

RECIPES = {recipe.name: recipe for recipe in (SEED, DEFAULT)}


def get_recipe(name: str, iterations: int | None = None) -> Recipe:
    recipe = RECIPES[name]
    if iterations is not None:
        recipe = replace(recipe, iterations=iterations, eval_every=min(recipe.eval_every, iterations))
    return recipe
