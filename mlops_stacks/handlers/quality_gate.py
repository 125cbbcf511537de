"""The quality gate: one function decides whether a trained model may be served."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

APPROVED = "Approved"
REJECTED = "Rejected"


@dataclass(frozen=True)
class GateDecision:
    """The registry's approval status for a model version and why."""

    status: str
    reason: str

    @property
    def approved(self) -> bool:
        """True when the model may be deployed."""
        return self.status == APPROVED


def quality_gate(evaluation: dict[str, Any], min_validation_auc: float) -> GateDecision:
    """Approve when the validation AUC in `evaluation.json` reaches the threshold."""
    auc = evaluation.get("validation", {}).get("auc")
    if not isinstance(auc, int | float):
        return GateDecision(REJECTED, "evaluation.json has no numeric validation.auc")
    if auc >= min_validation_auc:
        return GateDecision(APPROVED, f"validation AUC {auc:.4f} >= {min_validation_auc:.4f}")
    return GateDecision(REJECTED, f"validation AUC {auc:.4f} < {min_validation_auc:.4f} (quality gate)")
