"""The recurrent cells a model can use. Standard library only, so the commands can offer them as
choices before torch is imported."""

GATES = {"lstm": 4, "gru": 3, "rnn-tanh": 1, "rnn-relu": 1}  # weight blocks per layer and direction
CELLS = tuple(GATES)
