"""Test simulation: replies with a hand-made safe-codec payload whose complex cannot exist."""

import base64
import json
import struct

from damaris_ref.ensemble.safe_codec import MAGIC

header = json.dumps({"tree": {"complex": [10**400, 0]}, "blocks": []}).encode()
print(base64.b64encode(MAGIC + struct.pack("<Q", len(header)) + header).decode())
