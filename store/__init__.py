"""Expedito's domain: the peewee model, its rules and the service functions.

Headless: never imports Textual. Service functions return frozen dataclasses.
"""
