"""Member pages of the tasks app: check-in, tasks, leaderboard."""
