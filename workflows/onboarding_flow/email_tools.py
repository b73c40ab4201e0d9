"""Email tools of the onboarding workflow.

This example queues the welcome email instead of sending it, so the workflow runs anywhere; a real
deployment would call its email provider here.
"""
from datetime import datetime, timezone


def send_email(to: str = "", subject: str = "Welcome aboard", body: str = "") -> dict:
    """Send welcome email."""
    return {
        "status": "queued",
        "to": to,
        "subject": subject,
        "characters": len(body),
        "queued_at": datetime.now(timezone.utc).isoformat(),
    }
