from django.urls import path

from lottery import views

urlpatterns = [
    path("lottery/", views.lottery, name="lottery"),
    path("lottery/draws/", views.my_draws, name="lottery_my_draws"),
    path("lottery/<int:campaign_id>/", views.campaign, name="lottery_campaign"),
    path("lottery/<int:campaign_id>/draw/", views.draw, name="lottery_draw"),
    path("lottery/<int:campaign_id>/winners/", views.campaign_winners, name="lottery_winners"),
    path("lottery/<int:campaign_id>/mine/", views.campaign_my_draws, name="lottery_campaign_draws"),
    path("lottery/<int:campaign_id>/verify/", views.verify, name="lottery_verify"),
]
