from django.urls import path

from catalog.dashboard import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
]
