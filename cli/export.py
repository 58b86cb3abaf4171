"""digit-export: checkpoint -> model.onnx, TorchScript, ExportedProgram, test data, parity, model card;
a number reader's checkpoint (digit-train --task number) -> number.onnx, its parity report, test data and card."""

from pathlib import Path

import click

from .common import eprint, require_torch

INCOMPLETE_EXIT = 2  # a run that has not finished: not an export failure, the checkpoint is not ready


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--output-dir", "-o", type=click.Path(path_type=Path), required=True,
              help="Folder to write; replaced as a whole once the new export has passed its parity check.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="MNIST archives for the parity check (also $LSTM_DIGITS_DATA; default ./data).")
@click.option("--int8-limits/--no-int8-limits", default=True, show_default=True,
              help="Fail if model.int8.onnx is larger than its share of model.onnx's size or loses more MNIST "
                   "test accuracy than allowed (export/quantize.py). A GRU or plain RNN, whose weights int8 "
                   "quantization leaves in float, needs --no-int8-limits.")
def main(checkpoint, output_dir, data_dir, int8_limits):
    """Export CHECKPOINT and prove every exported file computes what PyTorch computes.
    A run that was interrupted is refused (exit 2): finish it with digit-train --resume first."""
    require_torch("digit-export")
    from ..export import ExportError
    from ..export.export_checkpoint import export_checkpoint
    from ..export.parity import table
    from ..export.quantize import Int8LimitError
    from ..training.checkpoint import CheckpointError, IncompleteCheckpoint, load_checkpoint
    from ..training.data import MnistNotFound

    try:
        if _task(checkpoint, load_checkpoint(checkpoint)) == "number":
            _report_number(checkpoint, output_dir, data_dir)
            return
        report = export_checkpoint(checkpoint, output_dir, data_dir, log=eprint, int8_limits=int8_limits)
    except IncompleteCheckpoint as error:
        failure = click.ClickException(str(error))
        failure.exit_code = INCOMPLETE_EXIT
        raise failure from None
    except Int8LimitError as error:
        raise click.ClickException(f"{checkpoint}: {error} (--no-int8-limits exports it anyway)") from None
    except (CheckpointError, ExportError, MnistNotFound) as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{output_dir}: {error.strerror or error}") from None
    click.echo(table(report))
    worst = max(row["max_abs_logit_diff"] for row in report["rows"])
    click.echo(f"\nparity passed: max abs logit difference {worst:.2e} <= {report['tolerance']['max_abs_logit_diff']:.0e}, "
               "same digit in 100% of cases")
    recorded = report["pytorch_test_accuracy"]
    click.echo(f"MNIST test accuracy: onnxruntime {report['onnx_test_accuracy']:.2%}, "
               f"PyTorch {f'{recorded:.2%}' if recorded is not None else 'not recorded in the checkpoint'}")
    click.echo(f"written: {output_dir}")


def _task(path: Path, checkpoint: dict) -> str:
    from ..training.checkpoint import CheckpointError
    from ..training.tasks import task_of

    try:
        return task_of(checkpoint).name
    except ValueError as error:
        raise CheckpointError(f"{path}: {error}") from None


def _report_number(checkpoint: Path, output_dir: Path, data_dir) -> None:
    from ..export.export_number import export_number

    report = export_number(checkpoint, output_dir, data_dir, log=eprint)
    click.echo(f"parity passed: the reader's largest log-probability difference {report['reader_max_abs_log_prob_diff']:.2e} "
               f"<= {report['tolerance']:.0e}; rejection below {report['min_probability']}")
    for length, scores in report["test_per_length"].items():
        click.echo(f"{length:>2} digits: {scores['right_without_rejection']:.1%} right, {scores['accepted']:.1%} accepted, "
                   f"{scores['wrong_accepted']:.1%} accepted and wrong")
    click.echo(f"written: {output_dir}")


if __name__ == "__main__":
    main()
