from django.urls import path

from pointsmall.content import views

urlpatterns = [
    path("announcements/<int:pk>/", views.announcement_detail, name="announcement_detail"),
    path("feedback/", views.feedback, name="feedback"),
    path("feedback/<int:pk>/screenshot/", views.feedback_screenshot, name="feedback_screenshot"),
]
