"""digit-export: checkpoint -> model.onnx, TorchScript, ExportedProgram, test data, parity, model card."""

from pathlib import Path

import click

from .common import eprint, require_torch


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--output-dir", "-o", type=click.Path(path_type=Path), required=True,
              help="Folder to write; replaced as a whole once the new export has passed its parity check.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="MNIST archives for the parity check (also $LSTM_DIGITS_DATA; default ./data).")
def main(checkpoint, output_dir, data_dir):
    """Export CHECKPOINT and prove every exported file computes what PyTorch computes."""
    require_torch("digit-export")
    from ..export.parity import TOLERANCE, table
    from ..export.pipeline import ExportError, export_checkpoint
    from ..training.checkpoint import CheckpointError
    from ..training.data import MnistNotFound

    try:
        report = export_checkpoint(checkpoint, output_dir, data_dir, log=eprint)
    except (CheckpointError, ExportError, MnistNotFound) as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{output_dir}: {error.strerror or error}") from None
    click.echo(table(report))
    worst = max(row["max_abs_logit_diff"] for row in report["rows"])
    click.echo(f"\nparity passed: max abs logit difference {worst:.2e} <= {TOLERANCE:.0e}, same digit in 100% of cases")
    click.echo(f"MNIST test accuracy: onnxruntime {report['onnx_test_accuracy']:.2%}, "
               f"PyTorch {report['pytorch_test_accuracy']:.2%}")
    click.echo(f"written: {output_dir}")


if __name__ == "__main__":
    main()
