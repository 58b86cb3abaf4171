"""One checkpoint file: weights, model config, recipe, metrics, versions and the state to resume.

Only tensors and plain Python values are stored, so it loads with torch.load(weights_only=True).
It is written atomically: a temporary file in the same folder, then a rename.
"""

import os
import platform
from pathlib import Path

import torch

from .. import __version__
from ..errors import first_line
from .tasks import task_of

FORMAT = "lstm-digits-checkpoint/1"
REQUIRED_KEYS = ("format", "model_config", "recipe", "state_dict", "metrics", "versions")


class CheckpointError(Exception):
    """A checkpoint path that is missing, unreadable or not one of ours."""


class IncompleteCheckpoint(CheckpointError):
    """The checkpoint of a run that has not finished: interrupted, or still training."""


def versions() -> dict:
    import torchvision

    return {
        "lstm_digits": __version__,
        "torch": str(torch.__version__),  # a TorchVersion object, which weights_only refuses
        "torchvision": str(torchvision.__version__),
        "python": platform.python_version(),
    }


def save_checkpoint(path: Path, payload: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as handle:
            torch.save({"format": FORMAT, **payload}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a file that isn't a checkpoint
        raise CheckpointError(f"{path}: not a readable checkpoint ({_reason(error)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an lstm-digits checkpoint (expected format {FORMAT})")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"{path}: checkpoint is missing {', '.join(missing)}")
    return payload


def _reason(error: Exception) -> str:
    """The informative line of torch.load's (long, multi-line) error."""
    for line in str(error).splitlines():
        if "WeightsUnpickler error:" in line:
            return "it holds pickled code: " + line.split("WeightsUnpickler error:", 1)[1].strip()[:160]
    return first_line(error, limit=160)


def require_complete(path: Path, checkpoint: dict) -> None:
    """Refuse a checkpoint that digit-train saved before the end of its run, saying how to finish it."""
    if not checkpoint.get("complete"):
        raise IncompleteCheckpoint(
            f"{path}: training was interrupted (or is still running) at iteration {checkpoint.get('iteration', '?')} "
            f"of {checkpoint['recipe'].get('iterations', '?')}; finish it first with: digit-train --output {path} --resume"
        )


def load_model(path: Path, task: str = "digit") -> tuple[torch.nn.Module, dict]:
    """The trained model of this task, in eval mode, and the checkpoint it came from."""
    checkpoint = load_checkpoint(path)
    try:
        trained = task_of(checkpoint)
    except ValueError as error:
        raise CheckpointError(f"{path}: {error}") from None
    if trained.name != task:
        raise CheckpointError(f"{path}: a {trained.name} model's checkpoint, where a {task} model's is needed")
    try:
        model = trained.model(trained.config_class(**checkpoint["model_config"]))
        model.load_state_dict(checkpoint["state_dict"])
    except (TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path}: weights do not fit the model config ({first_line(error)})") from None
    return model.eval(), checkpoint
