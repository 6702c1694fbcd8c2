"""Demarche: a correspondence CRM for advocacy campaigns."""

__version__ = "0.1.0"
