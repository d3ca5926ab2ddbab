"""Declarative model state from a folder of files (``modelport apply`` / ``export``)."""

from modelport.gitops.execute import execute
from modelport.gitops.export import export_state
from modelport.gitops.plan import Change, Plan, plan_changes
from modelport.gitops.spec import DeclaredModel, read_folder

__all__ = ["Change", "DeclaredModel", "Plan", "execute", "export_state", "plan_changes",
           "read_folder"]
