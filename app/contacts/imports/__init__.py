"""Importing people and organisations from a spreadsheet: reading the file (``csvfile``), the
import itself (``service.run``), the batches that record and undo it (``batches``), uploads run
in the background (``uploads``, ``tasks``), and its API and web pages (``api``, ``views``)."""
