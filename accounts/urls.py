from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.overview, name="account_overview"),
    path("profile/", views.profile, name="profile"),
    path("profile/phone/", views.phone_verify, name="phone_verify"),
    path("addresses/", views.address_list, name="address_list"),
    path("addresses/regions/", views.address_regions, name="address_regions"),
    path("addresses/new/", views.address_create, name="address_create"),
    path("addresses/<int:pk>/edit/", views.address_update, name="address_update"),
    path("addresses/<int:pk>/delete/", views.address_delete, name="address_delete"),
    path("addresses/<int:pk>/default/", views.address_set_default, name="address_set_default"),
    path("pin/", views.pin_manage, name="pin_manage"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read-all/", views.inbox_mark_all_read, name="inbox_mark_all_read"),
    path("inbox/<int:pk>/read/", views.inbox_mark_read, name="inbox_mark_read"),
    path("notifications/", views.notification_preferences, name="notification_preferences"),
    path("unsubscribe/<str:token>/", views.notification_unsubscribe, name="notification_unsubscribe"),
    path("invite/", views.invite, name="invite"),
    path("invite/qr.svg", views.invite_qr, name="invite_qr"),
]
