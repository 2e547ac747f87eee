"""Serialization of layers and models."""
