"""Test support: real servers (``servers``), test keys and tokens (``jwt_keys``) and the like."""
