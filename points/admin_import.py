"""The purchases CSV import as an admin page: upload → preview (writes nothing) → confirm.

The same service and report as ``manage.py points_import_purchases``: the preview is its dry
run, the confirmation its real run. What is confirmed is exactly what was previewed: the
file's text travels back signed (``django.core.signing``), so it can be neither edited in
between nor replayed after an hour.
"""

from __future__ import annotations

import csv

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from points import services
from pointsmall.kernel.csv import csv_data_rows, csv_size_text
from pointsmall.kernel.errors import DomainError, form_error

IMPORT_PERMISSION = "points.add_purchase"
# Bytes and rows: settings.CSV_IMPORT_MAX_BYTES and CSV_IMPORT_MAX_ROWS_PURCHASES. The confirm
# runs inside one web request, which the server ends after 30 s (gunicorn.conf.py): a row is
# one purchase transaction (tens of milliseconds), so a page import stays far below that.
# Bigger files go through `manage.py points_import_purchases`, which has no such limit.
SIGNING_SALT = "points.admin.purchases-import"
PREVIEW_MAX_AGE = 3600  # seconds a preview may be confirmed in
REPORT_ROWS_SHOWN = 200
UNREADABLE_CSV = gettext_lazy(
    "This file can't be read as CSV: a cell is longer than 128 KB, or a quote is not closed. "
    "Check the file and try again."
)


class PurchaseUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"), widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "UTF-8 with a header row: order_id, member_email, amount, purchased_at (ISO date-time, "
            "optional), sku, category (optional). At most %(max)s rows; bigger files: "
            "manage.py points_import_purchases."
        ) % {"max": settings.CSV_IMPORT_MAX_ROWS_PURCHASES}

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > settings.CSV_IMPORT_MAX_BYTES:
            raise ValidationError(
                _("The file is too large: at most %(size)s per import.")
                % {"size": csv_size_text(settings.CSV_IMPORT_MAX_BYTES)}
            )
        raw = upload.read()
        if b"\x00" in raw:
            raise ValidationError(_("This is not a text file. Upload a UTF-8 CSV file."))
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")) from None
        try:
            rows = csv_data_rows(text, header=True)
        except csv.Error:
            raise ValidationError(UNREADABLE_CSV) from None
        if rows > settings.CSV_IMPORT_MAX_ROWS_PURCHASES:
            raise ValidationError(
                _(
                    "The file has %(rows)s rows; a page import takes at most %(max)s. Split it, or import it "
                    "with manage.py points_import_purchases."
                )
                % {"rows": rows, "max": settings.CSV_IMPORT_MAX_ROWS_PURCHASES}
            )
        return text


class PurchaseConfirmForm(forms.Form):
    payload = forms.CharField(widget=forms.HiddenInput)

    def clean_payload(self) -> str:
        try:
            return signing.loads(self.cleaned_data["payload"], salt=SIGNING_SALT, max_age=PREVIEW_MAX_AGE)
        except signing.SignatureExpired:
            raise ValidationError(_("This preview is more than an hour old: upload the file again.")) from None
        except signing.BadSignature:
            raise ValidationError(_("This preview is not valid: upload the file again.")) from None


def may_import(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_staff and request.user.has_perm(IMPORT_PERMISSION))


def purchases_import_view(request: HttpRequest, admin_site, opts) -> HttpResponse:
    """GET: the upload form. POST "preview": the dry-run report and a confirm button. POST
    "confirm": the import, its report, and the form again for the next file."""
    if not may_import(request):
        raise PermissionDenied
    upload = PurchaseUploadForm()
    confirm = None
    report = None
    stage = "upload"
    if request.method == "POST" and "confirm" in request.POST:
        form = PurchaseConfirmForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(str(error) for error in form.errors.get("payload", [])))
            return redirect(reverse("admin:points_purchase_import"))
        try:
            report = services.points_import_purchases(text=form.cleaned_data["payload"])
        except DomainError as error:
            messages.error(request, error.message)
            return redirect(reverse("admin:points_purchase_import"))
        stage = "done"
        level = messages.WARNING if report.rejected else messages.SUCCESS
        messages.add_message(
            request,
            level,
            ngettext(
                "%(n)d purchase imported.",
                "%(n)d purchases imported.",
                len(report.accepted),
            )
            % {"n": len(report.accepted)},
        )
    elif request.method == "POST":
        upload = PurchaseUploadForm(request.POST, request.FILES)
        if upload.is_valid():
            text = upload.cleaned_data["file"]
            try:
                report = services.points_import_purchases(text=text, dry_run=True)
            except DomainError as error:
                form_error(upload, error)
            else:
                stage = "preview"
                confirm = PurchaseConfirmForm(
                    initial={"payload": signing.dumps(text, salt=SIGNING_SALT, compress=True)}
                )
    context = {
        **admin_site.each_context(request),
        "title": _("Import purchases"),
        "opts": opts,
        "stage": stage,
        "form": upload,
        "confirm": confirm,
        "report": report,
        "rejected_shown": report.rejected[:REPORT_ROWS_SHOWN] if report else [],
        "accepted_shown": report.accepted[:REPORT_ROWS_SHOWN] if report else [],
        "duplicates_shown": report.duplicates[:REPORT_ROWS_SHOWN] if report else [],
    }
    return TemplateResponse(request, "admin/points/purchase/import.html", context)
