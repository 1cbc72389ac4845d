"""Test simulation written against the upstream helper: base64 + pickle by hand, no framing."""

import base64
import pickle
import sys

params = pickle.loads(base64.b64decode(sys.stdin.read()))
sys.stdout.write(base64.b64encode(pickle.dumps({"got": params})).decode("utf-8"))
