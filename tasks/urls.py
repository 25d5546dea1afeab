from django.urls import path  # noqa: F401  (each part adds its routes below)

urlpatterns: list = []

# --- Daily check-in ---------------------------------------------------------------------------

# --- Tasks and surveys ------------------------------------------------------------------------

# --- Leaderboard ------------------------------------------------------------------------------
