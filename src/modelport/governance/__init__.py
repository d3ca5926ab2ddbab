"""Governance: evaluation records, acceptance criteria, promotion policy and approvals."""

from modelport.governance.criteria import check_criteria, parse_criterion
from modelport.governance.policy import Policy
from modelport.governance.promotion import check_promotion, check_rollout

__all__ = ["Policy", "check_criteria", "check_promotion", "check_rollout", "parse_criterion"]
