"""Errors raised by the ViewDefinition engine."""

from __future__ import annotations

from igwatch.errors import IgwatchError


class ViewDefinitionError(IgwatchError):
    """The ViewDefinition is invalid or uses something the engine does not support."""


class UnsupportedFeatureError(ViewDefinitionError):
    """A valid ViewDefinition uses a feature this engine does not implement."""
