"""Structured data: tables with entity embeddings (``tabular``) and collaborative filtering (``collab``).

Import the modules by name: ``from coursekit.tabular import tabular, collab``.
"""
