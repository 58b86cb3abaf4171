"""number.onnx on numbers in photo-like scenes (tests/number_scenes.py; issue 23 point 5): the strip
preprocessing must find the number on shaded, lined, squared and boxed paper, in a drawing's
transparency and in a scan, and the reader read it."""

import pytest

import number_scenes
from lstm_digits.export.export_number import seeded_numbers
from lstm_digits.runtime import NumberReader

PER_SCENE = 20  # 5-digit numbers, as written, in each scene (120 in all)
# scene -> (least share read right with no rejection, most share answered wrong). Measured on the
# shipped reader, 2026-12-07: photo 80% read right, 0% answered wrong; grid 90%, 0%; ruled 85%, 5%;
# drawing 100%, 0%; scan 90%, 0% (issue 23's goal: 95%).
FLOORS = {"photo": (0.75, 0.05), "grid": (0.85, 0.05), "ruled": (0.8, 0.1), "drawing": (0.95, 0.05), "scan": (0.85, 0.05)}


@pytest.fixture(scope="module")
def scene_figures(mnist):
    numbers = seeded_numbers(mnist.test, PER_SCENE * len(number_scenes.SCENES), number_scenes.SEED, (5, 5), styles=False)
    return number_scenes.scores(NumberReader(), number_scenes.build(numbers))


@pytest.mark.parametrize("scene", [scene for scene in number_scenes.SCENES if scene in FLOORS])
def test_five_digit_numbers_in_each_scene_are_read_and_rarely_accepted_wrong(scene_figures, scene):
    right, answered, wrong = scene_figures[scene]
    print(f"{scene}: {right:.0%} read right, {answered:.0%} answered, {wrong:.0%} answered wrong")
    floor_right, max_wrong = FLOORS[scene]
    assert right >= floor_right and wrong <= max_wrong, (scene, right, answered, wrong)


@pytest.mark.xfail(strict=True, reason="not yet: the strip preprocessing keeps a printed box around the number as ink")
def test_a_number_in_a_printed_box_is_read(scene_figures):
    """Measured 2026-12-07: 0 of 20 read right; none answered (5 digits). 1-digit numbers in a box
    are worse: 2 of 5 answered, both wrong (python tests/number_scenes.py)."""
    right, answered, wrong = scene_figures["boxed"]
    assert right >= 0.8 and wrong <= 0.05, (right, answered, wrong)
