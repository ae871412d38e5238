"""Report rendering: `model` holds the Report, one module per output format."""
