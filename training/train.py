"""The training loop, top to bottom: data, model, optimizer, loop, evaluation, checkpoint.

Runs on CPU. Under `torchrun --nproc-per-node N` it trains with DistributedDataParallel (gloo):
each process takes its share of every global batch, so the result matches one process's recipe.
"""

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from .augment import augment
from .checkpoint import load_checkpoint, save_checkpoint, versions
from .data import Mnist, Split, load_mnist, to_float
from .model import DigitRNN, ModelConfig, parameter_count
from .recipes import DEFAULT, Recipe

CHANCE_ACCURACY = 0.1
STALL_ACCURACY = 0.2  # validation accuracy at or below this after the grace period: stalled
STALL_LOSS = 0.9 * math.log(10)  # training loss still this close to chance (ln 10): stalled
STALL_GRACE = 1000  # iterations before a run may be called stalled
STALL_HINT = (
    "try --recipe default (AdamW with warm-up and gradient clipping), fewer layers, "
    "a lower learning rate, or another --seed"
)


class TrainingInterrupted(Exception):
    """Raised after an interrupted run has saved a resumable checkpoint."""


@dataclass
class TrainConfig:
    output: Path
    data_dir: Path | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    recipe: Recipe = DEFAULT
    seed: int = 0
    resume: bool = False
    progress: bool = True  # the live progress line on stderr
    train_limit: int | None = None  # use only the first N training images (quick runs, tests)


def metrics_path(checkpoint: Path) -> Path:
    return Path(checkpoint).with_suffix(".metrics.jsonl")


@torch.no_grad()
def evaluate(model: torch.nn.Module, split: Split, batch_size: int = 1000) -> tuple[float, float]:
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


def _generator(*seeds: int) -> torch.Generator:
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
            self._epoch, self._order = epoch, torch.randperm(self.size, generator=_generator(self.seed, epoch))
        return self._order[step * self.batch_size : (step + 1) * self.batch_size]


class Progress:
    """One live line on a terminal; on a pipe, only the evaluation lines."""

    def __init__(self, total: int, enabled: bool, rank: int):
        self.total = total
        self.live = enabled and rank == 0 and sys.stderr.isatty()
        self.enabled = enabled and rank == 0

    def update(self, iteration: int, loss: float, images_per_s: float) -> None:
        if self.live and (iteration % 10 == 0 or iteration == self.total):
            filled = int(30 * iteration / self.total)
            bar = "#" * filled + "." * (30 - filled)
            sys.stderr.write(f"\r[{bar}] {iteration}/{self.total} loss {loss:.4f} {images_per_s:,.0f} img/s ")
            sys.stderr.flush()

    def line(self, text: str) -> None:
        if self.enabled:
            sys.stderr.write(("\r\033[K" if self.live else "") + text + "\n")
            sys.stderr.flush()


def _stall_reason(iteration: int, val_accuracy: float, window_loss: float) -> str | None:
    if iteration < STALL_GRACE:
        return None
    if val_accuracy <= STALL_ACCURACY:
        return f"validation accuracy {val_accuracy:.2%} is at chance level ({CHANCE_ACCURACY:.0%})"
    if window_loss >= STALL_LOSS:
        return f"training loss {window_loss:.3f} has not fallen from chance level ({math.log(10):.3f})"
    return None


def train(config: TrainConfig, mnist: Mnist | None = None, callback: Callable[[int], None] | None = None) -> dict:
    """Train, checkpoint to config.output, and return the summary. `callback(iteration)` runs after
    every optimizer step (tests use it to interrupt a run)."""
    # --- processes: one, or several under torchrun ---
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    distributed = world > 1
    if distributed:
        torch.distributed.init_process_group("gloo")
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    try:
        return _train(config, mnist, callback, world, rank)
    finally:
        if distributed:
            torch.distributed.destroy_process_group()


def _train(config, mnist, callback, world, rank) -> dict:
    output = Path(config.output)
    checkpoint = None
    if config.resume and not output.exists() and config.progress and rank == 0:
        print(f"no checkpoint at {output} to resume; starting a new run", file=sys.stderr)
    if config.resume and output.exists():
        checkpoint = load_checkpoint(output)
        # A resumed run continues with the settings it started with.
        config = replace(
            config,
            model=ModelConfig(**checkpoint["model_config"]),
            recipe=Recipe(**checkpoint["recipe"]),
            seed=checkpoint["seed"],
            train_limit=checkpoint.get("train_limit"),
        )
    recipe = config.recipe
    if recipe.batch_size % world:
        raise ValueError(f"batch size {recipe.batch_size} does not split over {world} processes")
    progress = Progress(recipe.iterations, config.progress, rank)

    # --- data ---
    mnist = mnist or load_mnist(config.data_dir)
    train_split = mnist.train if config.train_limit is None else mnist.train.subset(config.train_limit)
    train_images, train_labels = to_float(train_split.images), train_split.labels
    order = BatchOrder(len(train_split), recipe.batch_size, config.seed)

    # --- model and optimizer ---
    torch.manual_seed(config.seed)
    model = DigitRNN(config.model)
    if recipe.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    start, history, train_seconds = 0, [], 0.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start, history, train_seconds = checkpoint["iteration"], checkpoint["metrics"], checkpoint["train_seconds"]
        progress.line(f"resuming {output} at iteration {start}/{recipe.iterations}")
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    stall = next((m["stalled"] for m in history if m.get("stalled")), None)

    def save(iteration: int, complete: bool) -> None:
        if rank != 0:
            return
        save_checkpoint(
            output,
            {
                "model_config": config.model.to_dict(),
                "recipe": recipe.to_dict(),
                "state_dict": model.state_dict(),
                "metrics": history,
                "versions": versions(),
                "seed": config.seed,
                "train_limit": config.train_limit,
                "iteration": iteration,
                "train_seconds": train_seconds,
                "optimizer": optimizer.state_dict(),
                "complete": complete,
            },
        )
        with open(metrics_path(output), "w") as handle:
            handle.writelines(json.dumps(record) + "\n" for record in history)

    # --- the loop ---
    local_batch = recipe.batch_size // world
    window_loss, window_steps, window_start = 0.0, 0, time.perf_counter()
    completed = start  # optimizer steps taken so far
    try:
        for iteration in range(start, recipe.iterations):
            indices = order.batch(iteration)[rank * local_batch : (rank + 1) * local_batch]
            images, labels = train_images[indices], train_labels[indices]
            if recipe.augment:
                images = augment(images, _generator(config.seed, iteration, rank, 7))
            lr = recipe.lr_at(iteration)
            for group in optimizer.param_groups:
                group["lr"] = lr

            loss = F.cross_entropy(net(images), labels, label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
            optimizer.step()
            completed = iteration + 1

            window_loss += loss.item()
            window_steps += 1
            elapsed = time.perf_counter() - window_start
            progress.update(iteration + 1, window_loss / window_steps, window_steps * recipe.batch_size / elapsed)
            if callback is not None:
                callback(iteration + 1)

            done = completed
            if done % recipe.eval_every == 0 or done == recipe.iterations:
                train_seconds += elapsed
                record = {
                    "iteration": done,
                    "lr": lr,
                    "train_loss": window_loss / window_steps,
                    "images_per_s": window_steps * recipe.batch_size / elapsed,
                    "train_seconds": train_seconds,
                }
                if rank == 0:
                    val_accuracy, val_loss = evaluate(model, mnist.val)
                    record.update(val_accuracy=val_accuracy, val_loss=val_loss)
                    reason = _stall_reason(done, val_accuracy, record["train_loss"])
                    if reason and not stall:
                        stall = f"at iteration {done}: {reason}"
                        record["stalled"] = stall
                        progress.line(f"WARNING: training looks stalled {stall}; {STALL_HINT}.")
                    progress.line(
                        f"iter {done:>6}/{recipe.iterations}  loss {record['train_loss']:.4f}  "
                        f"val {val_accuracy:.2%}  lr {lr:.2e}  {record['images_per_s']:,.0f} img/s"
                    )
                history.append(record)
                save(done, complete=False)
                window_loss, window_steps, window_start = 0.0, 0, time.perf_counter()
    except KeyboardInterrupt:
        # Keep every finished step: save where we are, so --resume picks up from here.
        train_seconds += time.perf_counter() - window_start
        save(completed, complete=False)
        raise TrainingInterrupted(
            f"interrupted after iteration {completed}; checkpoint saved to {output}, continue with --resume"
        ) from None

    # --- the end: report the test set once ---
    val_accuracy, val_loss = evaluate(model, mnist.val)
    test_accuracy, test_loss = evaluate(model, mnist.test)
    summary = {
        "final": True,
        "output": str(output),
        "cell": config.model.cell,
        "layers": config.model.layers,
        "hidden": config.model.hidden,
        "bidirectional": config.model.bidirectional,
        "recipe": recipe.name,
        "iterations": recipe.iterations,
        "seed": config.seed,
        "parameters": parameter_count(model),
        "val_accuracy": val_accuracy,
        "val_loss": val_loss,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "train_seconds": train_seconds,
        "stalled": stall,
    }
    if not history or not history[-1].get("final"):
        history.append(summary)
    save(recipe.iterations, complete=True)
    return summary
