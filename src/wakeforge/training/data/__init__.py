"""Data: feature sources, the training DataModule and background extraction."""
