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
from tasks.views import task as task_views  # noqa: E402

urlpatterns += [
    path("tasks/", task_views.task_list, name="task_list"),
    path("tasks/<int:task_id>/claim/", task_views.task_claim, name="task_claim"),
    path("tasks/<int:task_id>/visit/", task_views.task_visit, name="task_visit"),
    path("tasks/<int:task_id>/survey/", task_views.survey, name="task_survey"),
    path("tasks/<int:task_id>/<slug:action>/", task_views.task_action, name="task_action"),
]

# --- Leaderboard ------------------------------------------------------------------------------
from tasks.views import leaderboard as leaderboard_views  # noqa: E402

urlpatterns += [path("leaderboard/", leaderboard_views.leaderboard, name="leaderboard")]
