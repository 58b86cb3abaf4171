"""Issue 22, item 8 (and item 2 through the Python API): predict_iter reads its inputs as it goes,
never more than `read_ahead` of them beyond the result being read, however slowly the results are
read; any iterable that is not itself one image is a batch, generators included."""

import io
import threading
import time
from collections import deque
from itertools import cycle, islice

import numpy as np
import pytest
from PIL import Image

from lstm_digits.runtime import DigitClassifier, ImageError, Prediction
from test_classify_cli import SAMPLES

pytestmark = pytest.mark.runtime  # runs in a runtime-only install (every supported Python, .ci/run)


@pytest.fixture(scope="module")
def classifier():
    return DigitClassifier(threads=1)


@pytest.fixture(scope="module")
def digits() -> list[tuple[bytes, str]]:
    """(PNG bytes, digit) for the samples as the model sees them: small, quick, real digits."""
    classifier = DigitClassifier(threads=1)
    return [(png_bytes(classifier.model_input(path)), path.stem[-1]) for path in SAMPLES]


def png_bytes(image: np.ndarray) -> bytes:
    encoded = io.BytesIO()
    Image.fromarray((image * 255).round().astype(np.uint8)).save(encoded, "PNG")
    return encoded.getvalue()


class Counted:
    """Inputs handed out by a generator that counts how many have been taken."""

    def __init__(self, items, count: int):
        self.items, self.count, self.taken = items, count, 0

    def generate(self):
        for item in islice(cycle(self.items), self.count):
            self.taken += 1
            yield item


@pytest.mark.parametrize("workers", [1, 2])
def test_predict_iter_reads_a_generator_as_it_goes_and_waits_for_a_slow_reader(digits, workers):
    classifier = DigitClassifier(threads=1, workers=workers, batch_size=16)
    source = Counted([png for png, _ in digits], 1_000)
    assert classifier.read_ahead + 300 < source.count  # so that the checks below can fail
    expected = cycle([digit for _, digit in digits])
    with classifier:
        predictions = classifier.predict_iter(source.generate())
        assert next(predictions).digit == next(expected)
        time.sleep(0.5)  # a slow reader: nothing more is read, decoded or kept meanwhile
        assert source.taken <= 1 + classifier.read_ahead
        for read in range(2, 301):
            assert next(predictions).digit == next(expected)
            assert source.taken <= read + classifier.read_ahead
        assert len(list(predictions)) == 1_000 - 300 and source.taken == 1_000


@pytest.mark.parametrize("workers", [1, 2])
def test_any_iterable_that_is_not_one_image_is_a_batch(classifier, digits, workers):
    classifier = DigitClassifier(threads=1, workers=workers)
    pngs, expected = [png for png, _ in digits] * 10, [digit for _, digit in digits] * 10  # 50: workers run
    assert [p.digit for p in classifier.predict(png for png in pngs)] == expected
    assert [p.digit for p in classifier.predict(iter(pngs))] == expected
    assert [p.digit for p in classifier.predict(deque(pngs))] == expected
    assert [p.digit for p in classifier.predict(map(bytes, pngs))] == expected
    assert classifier.predict(iter([])) == []


def test_paths_bytes_arrays_and_images_are_one_image_to_predict_and_predict_iter(classifier):
    path, digit = SAMPLES[0], SAMPLES[0].stem[-1]
    data = path.read_bytes()
    array = np.asarray(Image.open(path))
    for one in (str(path), path, data, bytearray(data), memoryview(data), array, Image.open(path)):
        single = classifier.predict(one)
        assert isinstance(single, Prediction) and single.digit == digit, type(one)
        assert [p.digit for p in classifier.predict_iter(one)] == [digit], type(one)
    with pytest.raises(ImageError, match="not an image"):  # a mapping is not a batch of its keys
        classifier.predict({str(path): 1})


def test_predict_iter_can_read_from_another_predict_iter_of_the_same_classifier(digits):
    """The workers' pool reads the caller's iterable outside its lock: a pipeline of two runs on
    one classifier (the second reading what the first saw) does not wait for itself forever."""
    pngs, expected = [png for png, _ in digits] * 40, [digit for _, digit in digits] * 40
    answers = []
    with DigitClassifier(threads=1, workers=2, batch_size=16) as classifier:
        seen = (prediction.image for prediction in classifier.predict_iter(pngs))
        reading = threading.Thread(target=lambda: answers.extend(p.digit for p in classifier.predict_iter(seen)),
                                   daemon=True)
        reading.start()
        reading.join(timeout=60)
    assert not reading.is_alive() and answers == expected
