"""Selection: choose shots under a time budget (0/1 knapsack), keep them in original order."""

from egvs.selection.budget import Budget
from egvs.selection.knapsack import knapsack
from egvs.selection.select import fill_to_budget, select_segments

__all__ = ["Budget", "fill_to_budget", "knapsack", "select_segments"]
