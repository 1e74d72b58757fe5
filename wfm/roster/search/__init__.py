"""Searches that improve a roster: coverage moves, day re-plans, neighbourhood search, column
generation and the LP relaxation. Each is called by the solver through its public functions."""
