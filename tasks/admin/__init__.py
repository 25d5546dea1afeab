"""Admin of check-in rules, tasks and surveys, and the leaderboard."""
