"""Training losses. CKD (STAR's constrained knowledge distillation) lives in `ckd.py`."""

from fctrain.losses.ckd import CKDLoss, ckd_loss, fused_linear_ckd_loss
from fctrain.losses.ckd_common import CKDInputError

__all__ = ["CKDInputError", "CKDLoss", "ckd_loss", "fused_linear_ckd_loss"]
