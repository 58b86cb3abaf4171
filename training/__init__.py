"""Training stage: MNIST -> sequence model -> checkpoint (+ metrics). Needs the [train] extra."""
