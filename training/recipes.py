"""Training recipes: the tutorial's, with its own settings for each model, and our default."""

import math
from dataclasses import asdict, dataclass, replace

# Standard library only: the commands offer these names before torch is imported.
OPTIMIZERS = {"sgd": "SGD", "adamw": "AdamW"}  # recipe name -> torch.optim class
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class Recipe:
    name: str
    optimizer: str  # a key of OPTIMIZERS
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
    outlier_exposure: float = 0.0  # weight of the uniform-output loss on drawn non-digits (nondigits.py)

    def __post_init__(self):
        # A misspelt name is an error here, never a silent fall-back to another optimizer or schedule.
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}")

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


# The tutorial (deeplearningwizard.com, "Recurrent Neural Network with PyTorch" and "Long Short-Term
# Memory (LSTM) network with PyTorch"): SGD, batch 100, 3,000 iterations, evaluation every 500, at
# the learning rate each of its pages used for each model: 0.01 for the ReLU RNNs (its models A and
# B), 0.1 for the tanh RNN (model C) and for all three LSTMs. GRUs, which it does not train, get the
# LSTM page's 0.1. (The tutorial evaluates on the test set; we evaluate on validation and report
# test once at the end.)
TUTORIAL = Recipe(name="tutorial", optimizer="sgd", lr=0.1, batch_size=100, iterations=3000, eval_every=500)
TUTORIAL_LR = {"rnn-relu": 0.01}  # cells whose tutorial learning rate is not TUTORIAL.lr

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
    outlier_exposure=0.5,
)

# The number reader (tasks.NumberTask): the default recipe's optimizer and schedule, on batches of
# 32 numbers (a number is 1-12 digits, so a batch holds about 200), without the digit-only terms.
# 12,000 steps (as the shipped digit model's): 5,000 read 90.5% of validation numbers, 12,000 93.2%.
NUMBER = replace(DEFAULT, name="number", lr=2e-3, batch_size=32, iterations=12000, warmup=200,
                 label_smoothing=0.0, outlier_exposure=0.0)

RECIPES = {recipe.name: recipe for recipe in (TUTORIAL, DEFAULT, NUMBER)}
TASK_RECIPES = {"digit": ("tutorial", "default"), "number": ("number",)}  # which recipes train which task
ALIASES = {"seed": "tutorial"}  # the tutorial recipe's first name, still accepted
RECIPE_NAMES = (*RECIPES, *ALIASES)


def get_recipe(name: str, iterations: int | None = None, cell: str | None = None, task: str = "digit") -> Recipe:
    """The recipe called `name` for a model of this cell, optionally with another length."""
    name = ALIASES.get(name, name)
    if name not in TASK_RECIPES[task]:
        raise ValueError(f"the {name} recipe does not train a {task} model; use {' or '.join(TASK_RECIPES[task])}")
    recipe = RECIPES[name]
    if recipe is TUTORIAL and cell in TUTORIAL_LR:
        recipe = replace(recipe, lr=TUTORIAL_LR[cell])
    if iterations is not None:
        recipe = replace(recipe, iterations=iterations, eval_every=min(recipe.eval_every, iterations))
    return recipe
