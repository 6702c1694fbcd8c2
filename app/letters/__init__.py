"""Letter templates and their rendering to PDF."""
