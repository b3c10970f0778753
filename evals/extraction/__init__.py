"""Extraction evaluation: a dataset with ground truth and the harness that scores it."""
