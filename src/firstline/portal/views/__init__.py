"""Views of the self-service portal, where requesters open and follow their requests."""
