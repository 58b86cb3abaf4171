# Rebuild what the repository ships. MNIST comes from $LSTM_DIGITS_DATA (or ./data, downloaded if absent).
PYTHON ?= .venv/bin/python
DATA ?= $(if $(LSTM_DIGITS_DATA),$(LSTM_DIGITS_DATA),data)

# The chosen model of docs/COMPARISON.md, trained with the default recipe run 1.5x longer: with its
# augmentation and outlier exposure, 8,000 iterations left the model short on photos and scans
# (docs/ROBUSTNESS.md, "Training longer").
CHOSEN_MODEL = --cell lstm --layers 2 --hidden 100 --seed 0
SHIPPED_ITERATIONS = 12000
SHIPPED_CHECKPOINT = runs/shipped.pt

NUMBER_CHECKPOINT = runs/number.pt

.PHONY: model export number-model number-export preprocessing-graph compare test

# models/default from scratch: train, then export.
model:
	$(PYTHON) -m lstm_digits.cli.train --data-dir $(DATA) --recipe default --iterations $(SHIPPED_ITERATIONS) $(CHOSEN_MODEL) --output $(SHIPPED_CHECKPOINT)
	$(MAKE) export

# preprocessing/mnist_form.onnx, the preprocessing graph the runtime runs, from the onnxscript functions
# in preprocessing/ (and `make export` after it: pipeline.onnx holds the same graph).
preprocessing-graph:
	$(PYTHON) -m lstm_digits.preprocessing.mnist_form --write

# models/default again from the trained checkpoint: every file, with the parity check, the int8 limits,
# the model card and the test data. The same checkpoint gives the same bytes.
export:
	$(PYTHON) -m lstm_digits.cli.export $(SHIPPED_CHECKPOINT) --output-dir models/default --data-dir $(DATA)

# models/number, the number reader (docs/NUMBERS.md): trained with the number recipe, then exported.
number-model:
	$(PYTHON) -m lstm_digits.cli.train --data-dir $(DATA) --task number --output $(NUMBER_CHECKPOINT)
	$(MAKE) number-export

number-export:
	$(PYTHON) -m lstm_digits.cli.export $(NUMBER_CHECKPOINT) --output-dir models/number --data-dir $(DATA)

# docs/COMPARISON.md, docs/comparison.json and docs/comparison.png: the tutorial's six models, both recipes.
compare:
	$(PYTHON) -m lstm_digits.cli.compare --data-dir $(DATA)

test:
	$(PYTHON) -m pytest
