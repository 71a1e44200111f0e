from django.http import FileResponse

from .models import Attachment


def attachment_response(attachment: Attachment) -> FileResponse:
    """Always a download, never rendered: a hostile HTML or SVG upload cannot run as a page."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
