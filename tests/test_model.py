import pytest
import torch

from lstm_digits.training.model import CELLS, DigitRNN, ModelConfig, describe, parameter_count


def shapes(model):
    return [list(p.shape) for p in model.parameters()]


def test_parameter_shapes_match_the_tutorial_for_one_layer():
    model = DigitRNN(ModelConfig(cell="lstm", layers=1, hidden=100))
    assert shapes(model) == [[400, 28], [400, 100], [400], [400], [10, 100], [10]]


def test_parameter_shapes_match_the_tutorial_for_two_layers():
    model = DigitRNN(ModelConfig(cell="lstm", layers=2, hidden=100))
    assert shapes(model) == [
        [400, 28], [400, 100], [400], [400],
        [400, 100], [400, 100], [400], [400],
        [10, 100], [10],
    ]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_every_cell_maps_a_batch_of_images_to_ten_logits(cell, bidirectional):
    model = DigitRNN(ModelConfig(cell=cell, layers=2, hidden=16, bidirectional=bidirectional))
    logits = model(torch.rand(5, 28, 28))
    assert logits.shape == (5, 10)
    assert torch.isfinite(logits).all()


def test_normalisation_is_inside_the_model_and_travels_in_the_state_dict():
    model = DigitRNN(ModelConfig(hidden=8))
    state = model.state_dict()
    assert state["mean"].item() == pytest.approx(0.1307)
    assert state["std"].item() == pytest.approx(0.3081)
    # Changing the buffers changes the output: the model really normalises its input.
    image = torch.rand(1, 28, 28)
    before = model(image)
    model.mean.fill_(0.5)
    assert not torch.allclose(before, model(image))


def test_bidirectional_head_sees_the_backward_direction_after_all_rows():
    # Silence the forward half of the head: what is left is the backward direction's summary,
    # which must depend on the first row too (it has read every row by then).
    torch.manual_seed(0)
    model = DigitRNN(ModelConfig(cell="gru", hidden=8, bidirectional=True)).eval()
    with torch.no_grad():
        model.head.weight[:, :8] = 0
    image = torch.rand(1, 28, 28)
    changed_first_row = image.clone()
    changed_first_row[0, 0] += 1.0
    assert not torch.allclose(model(image), model(changed_first_row))


def test_describe_lists_every_parameter_shape_and_the_total():
    model = DigitRNN(ModelConfig(cell="lstm", layers=1, hidden=100))
    text = describe(model)
    assert "rnn.weight_ih_l0         [400, 28]" in text
    assert "head.weight              [10, 100]" in text
    assert f"Total: {parameter_count(model):,} parameters" in text
    assert parameter_count(model) == 400 * 28 + 400 * 100 + 400 + 400 + 10 * 100 + 10


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="cell must be one of"):
        ModelConfig(cell="transformer")
