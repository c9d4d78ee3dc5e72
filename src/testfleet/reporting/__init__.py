"""Turning what testfleet knows into text for people and JSON for machines (pure)."""
