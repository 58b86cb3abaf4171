"""Native ONNX RNN nodes for torch's plain RNNs.

torch.onnx's exporter (dynamo=True) maps nn.LSTM and nn.GRU to ONNX LSTM and GRU nodes, but
unrolls nn.RNN into 28 steps of MatMul/Tanh. These translations map aten::rnn_tanh and
aten::rnn_relu to one ONNX RNN node per layer, as the LSTM and GRU already are.

torch keeps per direction [W_ih, W_hh, b_ih, b_hh]; ONNX RNN takes W [dirs, H, in],
R [dirs, H, H] and B [dirs, 2H] = concat(Wb, Rb). A single gate needs no reordering.
"""

import onnxscript
import torch

from ..models import OPSET

op = getattr(onnxscript, f"opset{OPSET}")


def _translate(activation: str):
    def rnn(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
        directions = 2 if bidirectional else 1
        per_direction = 4 if has_biases else 2
        hidden_size = hx.shape[2]
        sequence = op.Transpose(input, perm=[1, 0, 2]) if batch_first else input  # [T, N, features]
        final_states = []
        for layer in range(num_layers):
            weights, recurrences, biases = [], [], []
            for direction in range(directions):
                first = (layer * directions + direction) * per_direction
                w_ih, w_hh = params[first], params[first + 1]
                weights.append(op.Unsqueeze(w_ih, [0]))
                recurrences.append(op.Unsqueeze(w_hh, [0]))
                if has_biases:
                    biases.append(op.Unsqueeze(op.Concat(params[first + 2], params[first + 3], axis=0), [0]))
            initial_h = op.Slice(hx, [layer * directions], [(layer + 1) * directions], axes=[0])
            outputs, final_h = op.RNN(
                sequence,
                op.Concat(*weights, axis=0),
                op.Concat(*recurrences, axis=0),
                op.Concat(*biases, axis=0) if has_biases else None,
                None,  # sequence_lens: every image has 28 rows
                initial_h,
                activations=[activation] * directions,
                direction="bidirectional" if bidirectional else "forward",
                hidden_size=hidden_size,
            )
            # [T, dirs, N, H] -> [T, N, dirs * H], the next layer's input
            sequence = op.Reshape(op.Transpose(outputs, perm=[0, 2, 1, 3]), [0, 0, -1])
            final_states.append(final_h)
        output = op.Transpose(sequence, perm=[1, 0, 2]) if batch_first else sequence
        return output, op.Concat(*final_states, axis=0)

    return rnn


CUSTOM_TRANSLATIONS = {
    torch.ops.aten.rnn_tanh.input: _translate("Tanh"),
    torch.ops.aten.rnn_relu.input: _translate("Relu"),
}
