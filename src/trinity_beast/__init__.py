"""The Trinity Beast: a self-hostable, real-time crypto price oracle."""

__version__ = "0.1.0"
