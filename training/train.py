"""The training loop, top to bottom: data, model, optimizer, loop, evaluation, checkpoint.

What is learnt is the config's task (tasks.py): a digit per image, or a number per strip.

Runs on CPU. Under `torchrun --nproc-per-node N` it trains with DistributedDataParallel (gloo):
each process takes its share of every global batch, so the result matches one process's recipe.
"""

import json
import os
import sys
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable

import torch

from .checkpoint import load_checkpoint, save_checkpoint, versions
from .data import Mnist, Split, load_mnist
from .model import ModelConfig, parameter_count
from .number_model import NumberConfig
from .recipes import DEFAULT, OPTIMIZERS, Recipe
from .tasks import TASKS, task_of

STALL_HINT = (
    "try --recipe {recipe} (AdamW with warm-up and gradient clipping), fewer layers, "
    "a lower learning rate, or another --seed"
)


class TrainingInterrupted(Exception):
    """Raised after an interrupted run has saved a resumable checkpoint."""


@dataclass
class TrainConfig:
    output: Path
    data_dir: Path | None = None
    model: ModelConfig | NumberConfig = field(default_factory=ModelConfig)  # the task's config class
    recipe: Recipe = DEFAULT
    seed: int = 0
    resume: bool = False
    progress: bool = True  # the live progress line on stderr
    train_limit: int | None = None  # use only the first N training images (quick runs, tests)
    task: str = "digit"  # a key of tasks.TASKS

    def __post_init__(self):
        if not isinstance(self.model, TASKS[self.task].config_class):
            raise ValueError(f"a {self.task} run takes a {TASKS[self.task].config_class.__name__}, "
                             f"not a {type(self.model).__name__}")


def metrics_path(checkpoint: Path) -> Path:
    return Path(checkpoint).with_suffix(".metrics.jsonl")


class Progress:
    """One live line on a terminal; on a pipe, only the evaluation lines. (tqdm would replace only
    the bar's two lines; the pipe and rank rules stay, so it is not worth a dependency.)"""

    def __init__(self, total: int, enabled: bool, rank: int):
        self.total = total
        self.live = enabled and rank == 0 and sys.stderr.isatty()
        self.enabled = enabled and rank == 0

    def update(self, iteration: int, loss: float, per_s: float, unit: str) -> None:
        if self.live and (iteration % 10 == 0 or iteration == self.total):
            filled = int(30 * iteration / self.total)
            bar = "#" * filled + "." * (30 - filled)
            sys.stderr.write(f"\r[{bar}] {iteration}/{self.total} loss {loss:.4f} {per_s:,.0f} {unit}/s ")
            sys.stderr.flush()

    def line(self, text: str) -> None:
        if self.enabled:
            sys.stderr.write(("\r\033[K" if self.live else "") + text + "\n")
            sys.stderr.flush()


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


def _train(config: TrainConfig, mnist: Mnist | None, callback, world: int, rank: int) -> dict:
    config, checkpoint = _resumed(config, rank)
    recipe, output = config.recipe, Path(config.output)
    if recipe.batch_size % world:
        raise ValueError(f"batch size {recipe.batch_size} does not split over {world} processes")
    progress = Progress(recipe.iterations, config.progress, rank)
    task = TASKS[config.task]()
    mnist = mnist or load_mnist(config.data_dir)
    batches = task.batches(mnist.train, recipe, config.seed, config.train_limit, world, rank)
    torch.manual_seed(config.seed)
    model = task.model(config.model)
    optimizer = _optimizer(recipe, model)
    state = RunState.restore(checkpoint, model, optimizer, progress, output)
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    save = partial(_save, output, config, model, optimizer, state) if rank == 0 else lambda complete: None

    window = Window(recipe.batch_size)
    try:
        for iteration in range(state.iteration, recipe.iterations):
            lr = _set_lr(optimizer, recipe.lr_at(iteration))
            loss = _step(task, net, optimizer, batches.get(iteration), recipe)
            state.iteration = iteration + 1
            window.add(loss)
            progress.update(state.iteration, window.mean_loss, window.images_per_s, task.unit)
            if callback is not None:
                callback(state.iteration)
            if state.iteration % recipe.eval_every == 0 or state.iteration == recipe.iterations:
                _evaluate_and_log(task, model, mnist.val, state, window, lr, progress, rank)
                save(complete=False)
                window.reset()
    except KeyboardInterrupt:
        # Keep every finished step: save where we are, so --resume picks up from here.
        state.train_seconds += time.perf_counter() - window.start
        save(complete=False)
        raise TrainingInterrupted(
            f"interrupted after iteration {state.iteration}; checkpoint saved to {output}, continue with --resume"
        ) from None
    return _finish(task, config, model, mnist, state, save)


def _resumed(config: TrainConfig, rank: int) -> tuple[TrainConfig, dict | None]:
    """With --resume, the checkpoint to continue and the settings it started with (which win)."""
    output = Path(config.output)
    if not config.resume:
        return config, None
    if not output.exists():
        if config.progress and rank == 0:
            print(f"no checkpoint at {output} to resume; starting a new run", file=sys.stderr)
        return config, None
    checkpoint = load_checkpoint(output)
    task = task_of(checkpoint)
    settings = dict(model=task.config_class(**checkpoint["model_config"]), recipe=Recipe(**checkpoint["recipe"]),
                    seed=checkpoint["seed"], train_limit=checkpoint.get("train_limit"), task=task.name)
    return replace(config, **settings), checkpoint


@dataclass
class RunState:
    """What a checkpoint saves besides the weights and the optimizer, and a resumed run restores."""

    iteration: int = 0  # optimizer steps taken so far
    history: list = field(default_factory=list)  # one record per evaluation, then the summary
    train_seconds: float = 0.0
    stalled: str | None = None  # when and why the run was first seen stalled

    @classmethod
    def restore(cls, checkpoint: dict | None, model, optimizer, progress: Progress, output: Path) -> "RunState":
        if checkpoint is None:
            return cls()
        model.load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        history = checkpoint["metrics"]
        state = cls(checkpoint["iteration"], history, checkpoint["train_seconds"],
                    next((m["stalled"] for m in history if m.get("stalled")), None))
        progress.line(f"resuming {output} at iteration {state.iteration}/{progress.total}")
        return state


def _optimizer(recipe: Recipe, model: torch.nn.Module) -> torch.optim.Optimizer:
    optimizer_class = getattr(torch.optim, OPTIMIZERS[recipe.optimizer])
    return optimizer_class(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> float:
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def _step(task, net: torch.nn.Module, optimizer: torch.optim.Optimizer, batch, recipe: Recipe) -> float:
    """One optimizer step on the task's loss; returns the loss the task logs."""
    loss, logged = task.loss(net, batch, recipe)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if recipe.grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(net.parameters(), recipe.grad_clip)
    optimizer.step()
    return logged.item()


class Window:
    """Training loss and speed over the steps since the last evaluation."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        self.reset()

    def reset(self) -> None:
        self.loss, self.steps, self.elapsed, self.start = 0.0, 0, 0.0, time.perf_counter()

    def add(self, loss: float) -> None:
        self.loss += loss
        self.steps += 1
        self.elapsed = time.perf_counter() - self.start

    @property
    def mean_loss(self) -> float:
        return self.loss / self.steps

    @property
    def images_per_s(self) -> float:
        return self.steps * self.batch_size / self.elapsed


def _evaluate_and_log(task, model, val: Split, state: RunState, window: Window, lr: float, progress: Progress,
                      rank: int) -> None:
    """Append this evaluation's record to the history: training loss and speed on every process,
    validation and the stall check on the first."""
    state.train_seconds += window.elapsed
    record = {"iteration": state.iteration, "lr": lr, "train_loss": window.mean_loss,
              "images_per_s": window.images_per_s, "train_seconds": state.train_seconds}
    if rank == 0:
        val_accuracy, val_loss = task.evaluate(model, val)
        record.update(val_accuracy=val_accuracy, val_loss=val_loss)
        reason = task.stall_reason(state.iteration, val_accuracy, record["train_loss"])
        if reason and not state.stalled:
            state.stalled = record["stalled"] = f"at iteration {state.iteration}: {reason}"
            progress.line(f"WARNING: training looks stalled {state.stalled}; "
                          f"{STALL_HINT.format(recipe=task.default_recipe)}.")
        progress.line(f"iter {state.iteration:>6}/{progress.total}  loss {record['train_loss']:.4f}  "
                      f"val {val_accuracy:.2%}  lr {lr:.2e}  {record['images_per_s']:,.0f} {task.unit}/s")
    state.history.append(record)


def _save(output: Path, config: TrainConfig, model, optimizer, state: RunState, complete: bool) -> None:
    save_checkpoint(
        output,
        {
            "task": config.task,
            "model_config": config.model.to_dict(),
            "recipe": config.recipe.to_dict(),
            "state_dict": model.state_dict(),
            "metrics": state.history,
            "versions": versions(),
            "seed": config.seed,
            "train_limit": config.train_limit,
            "iteration": state.iteration,
            "train_seconds": state.train_seconds,
            "optimizer": optimizer.state_dict(),
            "complete": complete,
        },
    )
    with open(metrics_path(output), "w") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in state.history)


def _finish(task, config: TrainConfig, model, mnist: Mnist, state: RunState, save) -> dict:
    """Report the test set once, add the summary to the history, save the complete checkpoint."""
    val_accuracy, val_loss = task.evaluate(model, mnist.val)
    test_accuracy, test_loss = task.evaluate(model, mnist.test)
    summary = {
        "final": True,
        "output": str(config.output),
        "task": config.task,
        "title": task.title(config.model),
        **config.model.to_dict(),
        "recipe": config.recipe.name,
        "iterations": config.recipe.iterations,
        "seed": config.seed,
        "parameters": parameter_count(model),
        "val_accuracy": val_accuracy,
        "val_loss": val_loss,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "train_seconds": state.train_seconds,
        "stalled": state.stalled,
    }
    if not state.history or not state.history[-1].get("final"):
        state.history.append(summary)
    state.iteration = config.recipe.iterations
    save(complete=True)
    return summary
