"""Co-signers: organisations that sign letters jointly with the sender."""
