"""Selection: choose shots under a time budget (0/1 knapsack), keep them in original order."""

from egvs.selection.budget import Budget
from egvs.selection.knapsack import knapsack
from egvs.selection.select import (
    bridge_gaps,
    fill_to_budget,
    improve_selection,
    select_segments,
)

__all__ = [
    "Budget",
    "bridge_gaps",
    "fill_to_budget",
    "improve_selection",
    "knapsack",
    "select_segments",
]
