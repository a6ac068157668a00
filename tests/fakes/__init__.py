"""Test doubles for carecircle's end-to-end tests."""
