"""Mailing lists and exports: CSV, XLSX, vCard, address labels and envelopes."""
