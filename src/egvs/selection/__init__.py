"""Selection: choose shots under a time budget (0/1 knapsack), keep them in original order."""

from egvs.selection.budget import Budget
from egvs.selection.knapsack import knapsack
from egvs.selection.select import select_segments

__all__ = ["Budget", "knapsack", "select_segments"]
