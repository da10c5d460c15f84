"""Knowledge distillation from a float teacher.

Loss = ``alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
+ (1 - alpha) * CE(student, labels)``. The ``T^2`` factor keeps the soft-target gradients on
the same scale as the hard-label ones when the temperature changes (Hinton et al., 2015).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    hard_loss: torch.Tensor,
    alpha: float,
    temperature: float,
) -> torch.Tensor:
    """Blend the softened-logit KL term with ``hard_loss`` (the label loss already computed)."""
    t = float(temperature)
    log_student = F.log_softmax(student_logits.float() / t, dim=1)
    log_teacher = F.log_softmax(teacher_logits.float() / t, dim=1)
    soft = F.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True) * (t * t)
    return alpha * soft + (1.0 - alpha) * hard_loss
