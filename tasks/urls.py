from django.urls import path

urlpatterns: list = []

# --- Daily check-in ---------------------------------------------------------------------------

# --- Tasks and surveys ------------------------------------------------------------------------

# --- Leaderboard ------------------------------------------------------------------------------
from tasks.views import leaderboard as leaderboard_views  # noqa: E402

urlpatterns += [path("leaderboard/", leaderboard_views.leaderboard, name="leaderboard")]
