"""Names of the uploaded images a letter may show, apart from the fetcher that serves them (which
needs WeasyPrint) so that code naming an upload does not load the typesetter."""

from __future__ import annotations

import re

# Co-signers' logos in the uploads folder (``app.cosigners.service``):
# "cosigner-<id>-<16 hex digits>".
UPLOADED_PATTERN = re.compile(r"cosigner-[0-9]{1,10}-[0-9a-f]{16}")
