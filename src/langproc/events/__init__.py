"""Publish an event (row + notify) and stream events (replay + live)."""
