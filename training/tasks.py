"""What a training run learns: one digit per 28x28 image, or a number per strip.

The loop in train.py is the same for both: batches, steps, evaluation, checkpoints, resume, DDP and
the stall check. A task supplies the parts that differ: its model, its batches, its loss, how it is
scored and what chance looks like. A checkpoint records its task, so a resumed run and the export
build the right model.
"""

import math

import torch
import torch.nn.functional as F

from .batches import Batches, generator_for
from .data import Split, to_float
from .model import DigitRNN, ModelConfig
from .nondigits import NONDIGIT, uniform_loss
from .ctc_reading import greedy_decode
from .number_model import NumberConfig, NumberRNN
from .number_strings import BLANK, Numbers, write_numbers
from .recipes import Recipe

STALL_GRACE = 1000  # iterations before a run may be called stalled


class _Stall:
    """The stall check: after STALL_GRACE iterations, a validation score at or below the task's
    stall_accuracy, or a training loss still at or above its stall_loss (near chance, ln 10)."""

    stall_accuracy: float
    stall_loss: float
    loss_unit = ""

    def stall_reason(self, iteration: int, val_accuracy: float, window_loss: float) -> str | None:
        if iteration < STALL_GRACE:
            return None
        if val_accuracy <= self.stall_accuracy:
            return self.low_score(val_accuracy)
        if window_loss >= self.stall_loss:
            return f"training loss {window_loss:.3f}{self.loss_unit} has not fallen from chance level ({math.log(10):.3f})"
        return None


class DigitTask(_Stall):
    """One digit per 28x28 MNIST image; scored by accuracy, chance is 10%."""

    name = "digit"
    unit = "img"
    config_class = ModelConfig
    default_recipe = "default"
    chance_accuracy = 0.1
    stall_accuracy = 0.2  # validation accuracy at or below this after the grace period: stalled
    stall_loss = 0.9 * math.log(10)  # training loss still this close to chance (ln 10): stalled

    def model(self, config: ModelConfig) -> DigitRNN:
        return DigitRNN(config)

    def batches(self, train: Split, recipe: Recipe, seed: int, train_limit: int | None, world: int, rank: int):
        return Batches(train, recipe, seed, train_limit, world, rank)

    def loss(self, net, batch, recipe: Recipe) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss to minimise, loss to log). The logged loss is the batch's on its digits: that is what
        the stall check compares with chance (ln 10); the outlier-exposure term sits near ln 10 by design."""
        images, labels = batch
        logits = net(images)
        digit_loss = F.cross_entropy(logits, labels, label_smoothing=recipe.label_smoothing)  # ignores NONDIGIT rows
        loss = digit_loss
        if recipe.outlier_exposure:
            loss = loss + recipe.outlier_exposure * uniform_loss(logits[labels == NONDIGIT])
        return loss, digit_loss

    @torch.no_grad()
    def evaluate(self, model, split: Split, batch_size: int = 1000) -> tuple[float, float]:
        """(accuracy, mean cross-entropy) over a split."""
        model.eval()
        correct, loss = 0, 0.0
        for start in range(0, len(split), batch_size):
            images = to_float(split.images[start : start + batch_size])
            labels = split.labels[start : start + batch_size]
            logits = model(images)
            loss += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(1) == labels).sum().item()
        model.train()
        return correct / len(split), loss / len(split)

    def low_score(self, val_accuracy: float) -> str:
        return f"validation accuracy {val_accuracy:.2%} is at chance level ({self.chance_accuracy:.0%})"

    def title(self, config: ModelConfig) -> str:
        return f"{config.cell} x{config.layers} h{config.hidden}"


EVAL_NUMBERS = 1000  # numbers written from a split's digits to score a model on it
EVAL_SEED = 2014  # fixed: the validation and test numbers never move with the training seed


class NumberBatches:
    """Iteration k's numbers: this process's share of the batch, written from the training digits
    with a generator that depends only on (seed, iteration). Every process writes the whole batch
    (a few ms) and keeps its share, so N processes take the same steps as one."""

    def __init__(self, train: Split, recipe: Recipe, seed: int, train_limit: int | None, world: int, rank: int):
        split = train if train_limit is None else train.subset(train_limit)
        self.images, self.labels = to_float(split.images), split.labels
        self.batch_size, self.local_batch = recipe.batch_size, recipe.batch_size // world
        self.styles, self.seed, self.rank = recipe.augment, seed, rank

    def get(self, iteration: int) -> Numbers:
        generator = generator_for(self.seed, iteration, 23)
        numbers = write_numbers(self.images, self.labels, self.batch_size, generator, styles=self.styles)
        return numbers.part(self.rank * self.local_batch, (self.rank + 1) * self.local_batch)


class NumberTask(_Stall):
    """A number per strip, read by CTC; scored by whole numbers read right, chance is 0."""

    name = "number"
    unit = "numbers"
    config_class = NumberConfig
    default_recipe = "number"
    stall_accuracy = 0.01  # numbers read right at or below this after the grace period: stalled
    # A reader that has learnt where digits are but not which pays ln 10 per digit (CTC loss is per digit).
    stall_loss = 0.9 * math.log(10)
    loss_unit = " per digit"

    def __init__(self):
        self._numbers: dict[int, Numbers] = {}  # the fixed numbers written from each split scored so far

    def model(self, config: NumberConfig) -> NumberRNN:
        return NumberRNN(config)

    def batches(self, train: Split, recipe: Recipe, seed: int, train_limit: int | None, world: int, rank: int):
        return NumberBatches(train, recipe, seed, train_limit, world, rank)

    def loss(self, net, numbers: Numbers, recipe: Recipe) -> tuple[torch.Tensor, torch.Tensor]:
        """CTC loss per digit, averaged over the batch's numbers."""
        log_probs, lengths = net(numbers.strips, numbers.widths)
        loss = _ctc_loss(log_probs, lengths, numbers)
        return loss, loss

    def numbers_from(self, split: Split) -> Numbers:
        """EVAL_NUMBERS numbers written from the split's digits, the same every time (no styles: the
        digits as their writers wrote them)."""
        key = id(split.images)
        if key not in self._numbers:
            generator = torch.Generator().manual_seed(EVAL_SEED)
            self._numbers[key] = write_numbers(to_float(split.images), split.labels, EVAL_NUMBERS, generator,
                                               styles=False)
        return self._numbers[key]

    @torch.no_grad()
    def evaluate(self, model, split: Split, batch_size: int = 250) -> tuple[float, float]:
        """(share of numbers read exactly right, mean CTC loss per digit) on the split's numbers."""
        model.eval()
        numbers = self.numbers_from(split)
        correct, loss = 0, 0.0
        for start in range(0, len(numbers), batch_size):
            part = numbers.part(start, start + batch_size)
            log_probs, lengths = model(part.strips, part.widths)
            loss += len(part) * _ctc_loss(log_probs, lengths, part).item()
            for read, wanted in zip(greedy_decode(log_probs, lengths), part.digits):
                correct += [digit for digit, _, _ in read] == wanted.tolist()
        model.train()
        return correct / len(numbers), loss / len(numbers)

    def low_score(self, val_accuracy: float) -> str:
        return f"only {val_accuracy:.2%} of validation numbers are read right"

    def title(self, config: NumberConfig) -> str:
        return f"number reader: {'conv + ' if config.conv else ''}bidirectional lstm x{config.layers} h{config.hidden}"


def _ctc_loss(log_probs: torch.Tensor, lengths: torch.Tensor, numbers: Numbers) -> torch.Tensor:
    """CTC loss per digit, averaged over the numbers (a number the reader's columns cannot hold: 0)."""
    targets, target_lengths = numbers.targets
    return F.ctc_loss(log_probs, targets, lengths, target_lengths, blank=BLANK, zero_infinity=True)


TASKS = {task.name: task for task in (DigitTask, NumberTask)}


def task_of(checkpoint: dict):
    """The task a checkpoint was trained on (checkpoints from before numbers are digit runs)."""
    name = checkpoint.get("task", "digit")
    if name not in TASKS:
        raise ValueError(f"trained on an unknown task {name!r} (known: {', '.join(TASKS)})")
    return TASKS[name]()
