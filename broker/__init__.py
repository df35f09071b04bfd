"""C4 broker: places, creates and tracks resources on many C4 cloud providers."""

__version__ = "0.1.0"
