"""Evaluation of a synthetic database against its source."""
