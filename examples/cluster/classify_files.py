"""Classify a dataset of image files with DigitClassifier inside a Ray cluster; results as Parquet.

    python examples/cluster/classify_files.py OUTPUT_FOLDER SOURCE... [--workers N] [--address auto]

A SOURCE is an image file or a folder (taken recursively: every file whose suffix Pillow reads, as
`digit-classify --recursive` takes them), as a local path or a URI that pyarrow's filesystems read
(s3://bucket/forms/, gs://..., hdfs://..., file:///...). Each Ray worker (an actor) holds one
DigitClassifier, made once, and classifies batch after batch; the results are written as Parquet
files in OUTPUT_FOLDER, one row per file: path, digit, probability, rejected, error. A file that
cannot be read or classified is a row with its one-line error, never the end of the job.
docs/CLUSTER.md says how to run it on a cluster; tests/test_cluster.py runs it on a local one.
Needs the `cluster` extra: pip install 'lstm-digits[cluster]'.
"""

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa  # (comes with ray[data])
import pyarrow.fs
import ray

from lstm_digits.cli.classify import shown  # a path as digit-classify prints it
from lstm_digits.errors import first_line
from lstm_digits.runtime import DigitClassifier, ImageError, image_suffixes, images

SCHEMA = pa.schema([
    ("path", pa.string()),  # the file's path or URI as given or listed (bytes that are not UTF-8 as \xNN)
    ("digit", pa.string()),  # the label; null for an error and when rejected (not a digit)
    ("probability", pa.float64()),  # the top label's probability; null for an error
    ("rejected", pa.bool_()),  # the model's rule says this is not a digit (see docs/CONFIDENCE.md)
    ("error", pa.string()),  # why the file could not be classified, one line; null when it was
])
BATCH_SIZE = 256  # files a worker classifies in one call
FILES_PER_BLOCK = 1024  # files per Ray block, the unit handed to one worker: small enough to spread the work
FETCH_THREADS = 16  # objects a worker reads from object storage at a time (the waiting is the network's)
# Image bytes read from object storage are held in memory, as digit-classify holds stdin's: more is refused.
MAX_FETCHED_BYTES = images.MAX_STDIN_BYTES


def is_uri(source: str) -> bool:
    return "://" in source


def image_files(sources: list[str]) -> list[str]:
    """The files to classify, in order: each source that is a folder (local or in a filesystem that
    pyarrow reads) replaced by its image files, all its subfolders included, sorted; any other
    source stays as it is (one that does not exist then gets its error row). A folder that cannot
    be listed raises OSError before the job starts."""
    files = []
    for source in sources:
        if is_uri(source):
            files += _listed_uri(source)
        elif os.path.isdir(source):
            def unreadable(error):
                raise error
            walk = os.walk(source, onerror=unreadable)
            files += sorted(os.path.join(root, name) for root, _, names in walk for name in names
                            if os.path.splitext(name)[1].lower() in image_suffixes())
        else:
            files.append(source)
    return files


def _listed_uri(uri: str) -> list[str]:
    filesystem, prefix, root = opened_uri(uri)
    if filesystem.get_file_info(root).type != pyarrow.fs.FileType.Directory:
        return [uri]
    listing = filesystem.get_file_info(pyarrow.fs.FileSelector(root, recursive=True))
    return sorted(prefix + info.path for info in listing if info.type == pyarrow.fs.FileType.File
                  and os.path.splitext(info.path)[1].lower() in image_suffixes())


def opened_uri(uri: str) -> tuple[pyarrow.fs.FileSystem, str, str]:
    """pyarrow's filesystem for a URI, the URI's prefix and the path in that filesystem:
    s3://bucket/a.png -> (S3FileSystem, "s3://", "bucket/a.png"); file:///a.png -> (.., "file://", "/a.png")."""
    filesystem, path = pyarrow.fs.FileSystem.from_uri(uri)
    prefix = uri[: uri.find(path)] if path in uri else uri.split("://", 1)[0] + "://"
    return filesystem, prefix, path


def file_table(names: list[str]) -> pa.Table:
    """What ClassifyBatch is given: the files' names as bytes, as a path may not be UTF-8 text."""
    return pa.table({"file": pa.array([os.fsencode(name) for name in names], pa.binary())})


class ClassifyBatch:
    """The callable class for Dataset.map_batches: one per Ray worker, holding one DigitClassifier,
    made once; each call classifies a batch of files and returns their rows (SCHEMA)."""

    def __init__(self, model: str | None = None, min_confidence: float | None = None):
        images.guard_nested_images = True  # one decoding thread per worker, as in digit-classify
        # One thread, no worker processes: the worker is given one CPU, and Ray spreads the work.
        self.classifier = DigitClassifier(model, threads=1, workers=1, min_confidence=min_confidence)
        self.filesystems: dict[str, tuple[pyarrow.fs.FileSystem, str]] = {}  # (filesystem, URI prefix) by bucket
        self.fetcher = ThreadPoolExecutor(FETCH_THREADS)

    def __call__(self, batch: pa.Table) -> pa.Table:
        names = [os.fsdecode(name) for name in batch.column("file").to_pylist()]
        uris = [name for name in names if is_uri(name)]
        fetched = dict(zip(uris, self.fetcher.map(self._fetched, uris)))
        # A local path is opened by DigitClassifier itself, exactly as digit-classify opens it.
        predictions = self.classifier.predict([fetched.get(name, name) for name in names])
        return pa.table({
            "path": [shown(name) for name in names],
            "digit": [p.digit for p in predictions],
            "probability": [p.probability for p in predictions],
            "rejected": [p.rejected for p in predictions],
            "error": [p.error for p in predictions],
        }, schema=SCHEMA)

    def _fetched(self, uri: str) -> bytes | ImageError:
        """An object's bytes, or the ImageError saying why not (DigitClassifier makes it the row's error)."""
        try:
            filesystem, path = self._filesystem(uri)
            with filesystem.open_input_stream(path) as stream:
                data = stream.read(MAX_FETCHED_BYTES + 1)
        except (OSError, ValueError, pa.ArrowException) as error:
            return ImageError(f"cannot read: {first_line(error)}")
        if len(data) > MAX_FETCHED_BYTES:
            return ImageError(f"refused: larger than {MAX_FETCHED_BYTES // 2**20} MB (objects are read into memory)")
        return data

    def _filesystem(self, uri: str) -> tuple[pyarrow.fs.FileSystem, str]:
        """The object's filesystem, made once per worker for each scheme and bucket (or host), and its path there."""
        scheme, rest = uri.split("://", 1)
        key = f"{scheme}://{rest.split('/', 1)[0]}"
        if key not in self.filesystems:
            self.filesystems[key] = opened_uri(uri)[:2]
        filesystem, prefix = self.filesystems[key]
        return filesystem, uri[len(prefix):]


def classify_files(sources: list[str], output: str, workers: int, model: str | None = None,
                   min_confidence: float | None = None) -> int:
    """Classify the image files in `sources` (see image_files) on the running Ray cluster (ray.init
    first) with `workers` workers, one CPU each, and write the rows as Parquet files into the folder
    or URI `output`. Returns how many files were classified or answered with an error."""
    files = image_files(sources)
    blocks = [file_table(files[i : i + FILES_PER_BLOCK]) for i in range(0, len(files), FILES_PER_BLOCK)]
    dataset = ray.data.from_arrow(blocks).map_batches(
        ClassifyBatch, fn_constructor_kwargs={"model": model, "min_confidence": min_confidence},
        batch_size=BATCH_SIZE, batch_format="pyarrow", concurrency=workers, num_cpus=1)
    # Writing takes no CPU of its own (the rows are small), so files are written as batches are
    # classified instead of once every worker has finished.
    dataset.write_parquet(output, ray_remote_args={"num_cpus": 0})
    return len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="folder or URI (s3://bucket/results/) to write the Parquet files into")
    parser.add_argument("sources", nargs="+", help="image files and folders, local paths or URIs")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="Ray workers, each holding one classifier on one CPU (default: one per core here)")
    parser.add_argument("--address", default=None,
                        help="a running Ray cluster (auto: the one this machine belongs to); default: start one here")
    parser.add_argument("--model", default=None, help="an exported model.onnx (default: the shipped model)")
    parser.add_argument("--min-confidence", type=float, default=None, metavar="P",
                        help="reject (not a digit) below P; 0 turns this off (default: the model's threshold)")
    args = parser.parse_args(argv)
    if args.address is None:  # a cluster on this machine, one CPU per worker, no dashboard (nor usage statistics)
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=args.address, log_to_driver=False)
    try:
        started = time.perf_counter()
        count = classify_files(args.sources, args.output, args.workers, args.model, args.min_confidence)
        seconds = time.perf_counter() - started  # listing, starting the workers, classifying and writing
    finally:
        ray.shutdown()
    print(f"{count:,} files classified into {args.output} in {seconds:.1f} s ({count / seconds:.0f} files/s "
          f"with {args.workers} worker{'s' * (args.workers > 1)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
