from django.urls import path

urlpatterns: list = []

# --- Daily check-in ---------------------------------------------------------------------------
from tasks.views import checkin as checkin_views  # noqa: E402

urlpatterns += [
    path("checkin/", checkin_views.checkin, name="checkin"),
    path("checkin/record/", checkin_views.checkin_record, name="checkin_record"),
    path("checkin/makeup/", checkin_views.checkin_makeup, name="checkin_makeup"),
    path("checkin/reminder/", checkin_views.checkin_reminder, name="checkin_reminder"),
]

# --- Tasks and surveys ------------------------------------------------------------------------

# --- Leaderboard ------------------------------------------------------------------------------
