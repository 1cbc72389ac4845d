"""An ensemble port with classic bugs, for the suite's self-test: base32 on the wire, a runner
that swallows failures and drops stderr."""

import base64
import pickle
import subprocess

import dask


def encode_transport_data(data):
    return base64.b32encode(pickle.dumps(data)).decode("ascii")


def decode_transport_data(text):
    return pickle.loads(base64.b32decode(text))


def get_data_from_stdin():
    import dask_espresso

    return dask_espresso.get_data_from_stdin()


@dask.delayed
def dask_espresso_task(executable, script, **kwargs):
    import dask_espresso

    done = subprocess.run(
        [executable, script],
        input=dask_espresso.encode_transport_data(kwargs),
        capture_output=True,
        text=True,
    )
    try:
        return dask_espresso.decode_transport_data(done.stdout.strip().splitlines()[-1])
    except Exception:
        return None
