"""takeitdown: an open Take It Down hash-sharing network."""

__version__ = "0.1.0"
