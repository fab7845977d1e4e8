"""Test sends' routes: the pages (the "catalog" namespace) and the API (the "api" namespace)."""

from django.urls import path

from catalog.sends import api, views

urlpatterns = [
    path("notifications/<slug:key>/test-send/", views.ProofSendFormView.as_view(), name="proof_send"),
    path("test-sends/", views.ProofSendListView.as_view(), name="proof_send_list"),
    path("test-sends/<int:pk>/", views.ProofSendDetailView.as_view(), name="proof_send_detail"),
    path("test-sends/previews/<str:token>/", views.ProofPreviewFrameView.as_view(), name="proof_send_preview_frame"),
    path("test-recipients/", views.ProofRecipientListView.as_view(), name="proof_recipient_list"),
    path("test-recipients/<int:pk>/delete/", views.ProofRecipientDeleteView.as_view(), name="proof_recipient_delete"),
    path(
        "test-recipients/<int:pk>/approve/", views.ProofRecipientApproveView.as_view(), name="proof_recipient_approve"
    ),
]


def api_register(router) -> None:
    router.register("test-recipients", api.ProofRecipientViewSet, basename="proofrecipient")
    router.register("test-sends", api.ProofSendViewSet, basename="proofsend")
