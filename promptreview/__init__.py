"""promptreview: review prompt changes by running old and new prompts over the same sample."""

__version__ = "0.1.0"
