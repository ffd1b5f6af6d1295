"""Errors a user can act on. Each carries a one-line message that says what and where."""

from __future__ import annotations


class IgwatchError(Exception):
    """Base class: the message is shown to the user as is, without a stack trace."""


class InputRefused(IgwatchError):
    """The input is not something igwatch can assess (not FHIR, no patient, several patients …).

    The CLI exits 2 with this message on stderr.
    """


class ProfileError(IgwatchError):
    """A profile does not validate; the message names the file and the key."""
