"""Reads of the tasks app: check-in calendar, task list, leaderboard."""
