"""Sign-up: create the account, and tell Dub which click brought the visitor.

A visitor who arrived through a Dub short link carries the click's id in the ``dub_id`` cookie
(set by Dub's analytics script). Sign-up reports it as a lead, so that Dub creates the customer
and credits every later sale of that customer to the link. A sign-up never fails because Dub
does: the error is kept on the user for the logs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from .tracking import DUB_COOKIE, Lead, TrackedLead, Tracker, TrackingError


@dataclass
class User:
    id: str
    email: str
    click_id: str | None
    lead: TrackedLead | None = None
    tracking_error: TrackingError | None = None


@dataclass
class Accounts:
    """The shop's user accounts; ``tracker`` is how sign-ups reach Dub."""

    tracker: Tracker
    users: dict[str, User] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1), init=False, repr=False
    )

    def sign_up(self, email: str, cookies: Mapping[str, str]) -> User:
        """Create an account; with a ``dub_id`` cookie, report the sign-up to Dub as a lead."""
        user = User(f"user_{next(self._numbers)}", email, cookies.get(DUB_COOKIE) or None)
        self.users[user.id] = user
        if user.click_id is not None:
            lead = Lead(click_id=user.click_id, customer_external_id=user.id, customer_email=email)
            try:
                user.lead = self.tracker.track_lead(lead)
            except TrackingError as error:
                user.tracking_error = error
            except OSError as error:  # Dub unreachable: the account stands, untracked
                user.tracking_error = TrackingError(0, "unreachable", str(error))
        return user
