"""igwatch: clinical decision support for immunoglobulin monitoring and replacement."""

__version__ = "0.1.0"
