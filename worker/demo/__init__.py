"""Support code for ``herald demo``: a local demo site and webhook receiver, not for production."""
