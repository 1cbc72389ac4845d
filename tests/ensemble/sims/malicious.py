"""Test simulation: answers with a pickle that creates ``params["marker"]`` when unpickled."""

import base64
import pickle

import dask_espresso as de


class Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


params = de.get_data_from_stdin()
print(base64.b64encode(pickle.dumps(Exploit(params["marker"]))).decode())
