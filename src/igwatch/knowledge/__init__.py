"""The knowledge igwatch reasons with, as data: statements, the catalog, profiles, value sets."""
