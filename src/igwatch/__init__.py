"""igwatch: clinical decision support for immunoglobulin monitoring and replacement.

The public API::

    import igwatch

    timeline = igwatch.load_timeline("patient.json")          # FHIR → Timeline
    assessment = igwatch.assess(timeline, date(2026, 12, 1))  # the one engine every door calls
    assessment.recommendations, assessment.facts.igg, assessment.to_dict()

``load_profile`` reads a shipped or site profile; refusals are :class:`InputRefused` or
:class:`ProfileError` (both :class:`IgwatchError`), each with a one-line message.
"""

# The version first: modules imported below read it.
__version__ = "0.1.0"

from igwatch.assessment import Assessment, Recommendation
from igwatch.engine import assess
from igwatch.errors import IgwatchError, InputRefused, ProfileError
from igwatch.facts import Facts
from igwatch.fhir.ingest import build_timeline, load_timeline
from igwatch.knowledge.profile import Profile, load_profile
from igwatch.timeline import Timeline

__all__ = [
    "Assessment",
    "Facts",
    "IgwatchError",
    "InputRefused",
    "Profile",
    "ProfileError",
    "Recommendation",
    "Timeline",
    "__version__",
    "assess",
    "build_timeline",
    "load_profile",
    "load_timeline",
]
