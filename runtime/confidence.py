"""The model file's rule for "not a digit", read from its metadata: an image is rejected when its
largest probability is below `min_confidence`. numpy and the standard library only.

`model.onnx` carries two JSON values in `metadata_props` (written by digit-export):
    calibration: {"temperature": T, "fitted_on": ..., "ece_test_before": ..., "ece_test_after": ...}
                 the graph's `probabilities` are already softmax(logits / T)
    rejection:   {"rule": ..., "score": "max_probability", "min_confidence": P, "label": "-"}
A model without them has T = 1 in its graph and rejects nothing. The label is printed for a rejected
image, so it keeps the rule every label keeps (runtime/metadata_values.py: printable, one line, short).
"""

import math
from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from .metadata_values import label_problem, metadata_json, shown_label
from .onnx_structure import ModelProblem

CALIBRATION_KEY = "calibration"
REJECTION_KEY = "rejection"
SCORE = "max_probability"  # the only score a rule may use: the largest of the graph's probabilities
RULE = "reject when the largest probability is below min_confidence"


class RuleError(ValueError):
    """The metadata's calibration or rejection value is not a valid rule; the message is one line."""


def _json_object(metadata: Mapping[str, str], key: str) -> dict | None:
    if key not in metadata:
        return None
    try:
        value = metadata_json(metadata, key)
    except ModelProblem as problem:  # not JSON, or JSON beyond the metadata's bounds
        raise RuleError(str(problem)) from None
    if not isinstance(value, dict):
        raise RuleError(f"metadata '{key}' is not a JSON object")
    return value


def _probability(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise RuleError(f"{what} must be a number from 0 to 1, not {value!r}")
    return float(value)


def temperature(metadata: Mapping[str, str]) -> float:
    """The temperature the graph's probabilities were calibrated with (1.0 if none): for embedders
    that compute probabilities from `logits` themselves, softmax(logits / temperature)."""
    calibration = _json_object(metadata, CALIBRATION_KEY)
    if calibration is None:
        return 1.0
    value = calibration.get("temperature")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise RuleError(f"metadata 'calibration': temperature must be a positive number, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class RejectionRule:
    """Reject an image when its largest probability is below min_confidence (0: never reject).

    >>> rule = RejectionRule.from_metadata(session.get_modelmeta().custom_metadata_map)
    >>> rule.rejects(probabilities[0])      # True: not a digit, report rule.label
    """

    min_confidence: float = 0.0
    label: str = "-"

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], min_confidence: float | None = None) -> "RejectionRule":
        """The rule in a model's metadata_props (a str -> str mapping); `min_confidence` overrides the
        model's threshold, 0 turns rejection off. Raises RuleError naming what is wrong."""
        rule = cls()
        rejection = _json_object(metadata, REJECTION_KEY)
        if rejection is not None:
            score = rejection.get("score")
            if score != SCORE:
                raise RuleError(f"metadata 'rejection': score must be {SCORE!r}, not {score!r}")
            label = rejection.get("label")
            problem = label_problem(label) if isinstance(label, str) else "is not a string"
            if problem:  # the graph's labels keep the same rule (model_check.contract_from_metadata)
                shown = shown_label(label) if isinstance(label, str) else repr(label)[:80]
                raise RuleError(f"metadata 'rejection': label must be a non-empty one-line string, not {shown} ({problem})")
            threshold = _probability(rejection.get("min_confidence"), "metadata 'rejection': min_confidence")
            rule = cls(threshold, label)
        if min_confidence is not None:
            rule = replace(rule, min_confidence=_probability(min_confidence, "min_confidence"))
        return rule

    @property
    def enabled(self) -> bool:
        return self.min_confidence > 0

    def rejects(self, probabilities: np.ndarray) -> bool:
        """One image's probabilities (one row) -> whether the rule calls it not a digit."""
        return bool(self.rejected(np.asarray(probabilities)[None])[0])

    def rejected(self, probabilities: np.ndarray) -> np.ndarray:
        """[N, classes] probabilities -> [N] bool, True where the rule calls the image not a digit."""
        return np.asarray(probabilities).max(axis=-1) < self.min_confidence
