"""Calibration: one temperature T so that softmax(logits / T) means what it says, fitted on the
validation split only; expected calibration error (ECE) and reliability-diagram bins to show it.

Temperature scaling (Guo et al., 2017) divides every logit by the same T > 0: no prediction
changes, only how sure the probabilities are. numpy only, so the figures script and the tests can
use it without torch.
"""

import numpy as np

ECE_BINS = 15
TEMPERATURE_RANGE = (0.05, 20.0)  # log-spaced search interval for T


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(logits, np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    scaled = np.asarray(logits, np.float64) / temperature
    top = scaled.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(scaled - top).sum(axis=1)) + top[:, 0]
    return float((log_sum - scaled[np.arange(len(labels)), labels]).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, tolerance: float = 1e-4) -> float:
    """The T that minimises the mean negative log-likelihood of `labels`: a golden-section search on
    log T (the NLL is unimodal in T for fixed logits)."""
    low, high = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    golden = (np.sqrt(5) - 1) / 2
    nll = lambda log_t: negative_log_likelihood(logits, labels, float(np.exp(log_t)))
    a, b = high - golden * (high - low), low + golden * (high - low)
    fa, fb = nll(a), nll(b)
    while high - low > tolerance:
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - golden * (high - low)
            fa = nll(a)
        else:
            low, a, fa = a, b, fb
            b = low + golden * (high - low)
            fb = nll(b)
    return float(np.exp((low + high) / 2))


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Per equal-width confidence bin: count, mean confidence and accuracy of the top prediction."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_confidence = np.bincount(index, confidence, bins) / count
        accuracy = np.bincount(index, correct, bins) / count
    return {"edges": np.linspace(0, 1, bins + 1), "count": count, "confidence": mean_confidence, "accuracy": accuracy}


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Sum over bins of (share of images in the bin) x |accuracy - mean confidence|."""
    table = reliability(probabilities, labels, bins)
    filled = table["count"] > 0
    gaps = np.abs(table["accuracy"][filled] - table["confidence"][filled])
    return float((table["count"][filled] * gaps).sum() / len(labels))


# The default threshold: the largest that rejects at most this share of the validation digits
# (their calibrated largest probability), rounded down to 4 decimals.
VALIDATION_REJECT_SHARE = 0.005
FITTED_ON = "validation split: the 5,000 MNIST training images held out from training"


def confidence_metadata(val_logits: np.ndarray, val_labels: np.ndarray, test_logits: np.ndarray,
                        test_labels: np.ndarray) -> tuple[float, dict]:
    """(temperature, {"calibration": ..., "rejection": ...}) for model.onnx's metadata, all chosen on
    the validation split; the test split is only reported (ECE before and after)."""
    from ..runtime.confidence import RULE, SCORE, CALIBRATION_KEY, REJECTION_KEY, RejectionRule

    temperature = float(f"{fit_temperature(val_logits, val_labels):.6g}")
    calibration = {
        "temperature": temperature,
        "fitted_on": FITTED_ON,
        "method": "temperature scaling: probabilities = softmax(logits / temperature), NLL minimised",
        "ece_bins": ECE_BINS,
        "ece_test_before": round(expected_calibration_error(softmax(test_logits), test_labels), 5),
        "ece_test_after": round(expected_calibration_error(softmax(test_logits, temperature), test_labels), 5),
    }
    scores = softmax(val_logits, temperature).max(axis=1)
    threshold = float(np.floor(np.quantile(scores, VALIDATION_REJECT_SHARE) * 1e4) / 1e4)
    rejection = {
        "rule": RULE,
        "score": SCORE,
        "min_confidence": threshold,
        "label": RejectionRule.label,  # the rule's default label, "-"
        "chosen_by": f"the largest 4-decimal threshold rejecting at most {VALIDATION_REJECT_SHARE:.1%} of validation digits",
    }
    return temperature, {CALIBRATION_KEY: calibration, REJECTION_KEY: rejection}
