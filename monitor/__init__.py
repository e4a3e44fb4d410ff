"""monitor: watch news feeds for one topic and keep a clean plain-text corpus."""

__version__ = "0.1.0"
