"""Command-line entry points: digit-train, digit-compare, digit-export, digit-classify."""
