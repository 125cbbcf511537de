"""The quality gate: one function decides whether a trained model may be served."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from model_code.number_syntax import is_finite_number

APPROVED = "Approved"
REJECTED = "Rejected"
# A version that passed the gate in manual approval mode waits for a person (ModelApprovalStatus).
PENDING_MANUAL_APPROVAL = "PendingManualApproval"
MANUAL = "manual"


@dataclass(frozen=True)
class GateDecision:
    """The registry's approval status for a model version and why."""

    status: str
    reason: str

    @property
    def approved(self) -> bool:
        """True when the model may be deployed."""
        return self.status == APPROVED


def validation_auc(evaluation: Mapping[str, Any]) -> float | None:
    """validation.auc of evaluation.json, or None when it is missing or not a finite number."""
    validation = evaluation.get("validation")
    auc = validation.get("auc") if isinstance(validation, Mapping) else None
    return float(auc) if is_finite_number(auc) else None


def quality_gate(evaluation: Mapping[str, Any], min_validation_auc: float) -> GateDecision:
    """Approve when the validation AUC in `evaluation.json` reaches the threshold."""
    auc = validation_auc(evaluation)
    if auc is None:
        return GateDecision(REJECTED, "evaluation.json has no numeric validation.auc")
    if auc >= min_validation_auc:
        return GateDecision(APPROVED, f"validation AUC {auc:.4f} >= {min_validation_auc:.4f}")
    return GateDecision(REJECTED, f"validation AUC {auc:.4f} < {min_validation_auc:.4f} (quality gate)")


def registered_status(decision: GateDecision, approval_mode: str) -> str:
    """The approval status a version is registered with: the gate's, or, in manual mode, a person's to give.

    A model the gate rejects is Rejected in either mode: a person can approve only what passed.
    """
    if decision.approved and approval_mode == MANUAL:
        return PENDING_MANUAL_APPROVAL
    return decision.status
