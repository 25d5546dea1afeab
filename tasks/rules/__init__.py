"""Pure rules of the tasks app (no ORM, no clock): check-in rewards, task periods, leaderboard ranks."""
