"""Conformance probe: a Damaris pyscript that records what one server sees, as JSON.

A port runs this file like any user script. Each run writes one file per (server, iteration)
into the directory named by the environment variable ``DAMARIS_PROBE_DIR``: the top-level
keys, ``damaris_env``, the ``dask_env`` keys, and for every variable its entry keys,
``type_string``, ``sort_list`` and, per block, shape, dtype, sum and a SHA-256 of the bytes.
When ``damaris4py`` can be imported, what its helpers return is recorded too, and so is how
the script was executed (separate globals and locals, and how many runs its top-level names
have survived). The suite compares these files with the specification; the probe judges
nothing. The format (version :data:`PROBE_FORMAT`) is ``probe-record.schema.json``; the test
recorders write it through these same functions, with the blocks themselves in an ``.npz``.

It runs inside the port's embedded interpreter, which may be old and bare, so it needs only
Python 3.9 and NumPy, never imports ``damaris_ref``, records what is missing instead of
failing, and writes each file atomically (several servers may write at once). It works under
both exec models: upstream's ``exec(code, G, L)``, where the script's functions do not see
its top-level names, and a plain single namespace. So every helper is a closure inside
:func:`_build`, which imports what it needs, and the constants reach it as default arguments.
"""

#: bump when the record layout changes (probe-record.schema.json), so the suite can refuse
#: records it cannot read
PROBE_FORMAT = 3
DIR_VARIABLE = "DAMARIS_PROBE_DIR"
#: joins variable and block key in the names of a record's ``.npz`` blocks file
ARRAY_SEPARATOR = "::"


def _build(probe_format=PROBE_FORMAT, dir_variable=DIR_VARIABLE, array_separator=ARRAY_SEPARATOR):
    """The probe's functions ``(observe, block_arrays, write_record, main)``, closed over their
    imports."""
    import hashlib
    import json
    import os
    import re
    import sys
    import traceback
    import uuid

    import numpy as np

    tag_pattern = re.compile(r"^S(\d+)_I(\d+)_(.*)$")
    key_pattern = re.compile(r"^P(\d+)_B(\d+)$")

    def _plain(value):
        """A JSON-safe copy of a scalar from DamarisData (NumPy scalars become Python ones)."""
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        return repr(value)

    def _block(array):
        """Shape, dtype, exact sum and checksum of one block (or why it is not an array)."""
        if not isinstance(array, np.ndarray):
            return {"error": "not a NumPy array: " + type(array).__name__}
        contiguous = np.ascontiguousarray(array)
        total = None  # type: int | float | None
        if contiguous.dtype.kind in "biu":
            total = int(contiguous.sum(dtype=np.int64))
        elif contiguous.dtype.kind == "f":
            total = float(contiguous.sum(dtype=np.float64))
        return {
            "shape": list(contiguous.shape),
            "dtype": contiguous.dtype.name,
            "dtype_str": contiguous.dtype.str,
            "sum": total,
            "sha256": hashlib.sha256(contiguous.tobytes()).hexdigest(),
        }

    def _sort_list(items):
        """``sort_list`` as plain lists; an entry not shaped ``[tag, key, offsets]`` stays text."""
        entries = []  # type: list[object]
        for item in items:
            try:
                tag, key, offsets = item
                entries.append([str(tag), str(key), [int(o) for o in offsets]])
            except (TypeError, ValueError):
                entries.append(repr(item))
        return entries

    def _variable(entry):
        if not isinstance(entry, dict):
            return {"error": "entry is not a dict: " + type(entry).__name__}
        record = {"entry_keys": sorted(str(k) for k in entry)}  # type: dict[str, object]
        if "type_string" in entry:
            record["type_string"] = _plain(entry["type_string"])
        if isinstance(entry.get("sort_list"), (list, tuple)):
            record["sort_list"] = _sort_list(entry["sort_list"])
        numpy_data = entry.get("numpy_data")
        if isinstance(numpy_data, dict):
            record["blocks"] = {str(k): _block(v) for k, v in numpy_data.items()}
        return record

    def _server_from_tags(variables):
        """Every distinct ``S<server>`` number found in the ``sort_list`` tags, ascending."""
        found = set()
        for record in variables.values():
            for entry in record.get("sort_list", []):
                match = tag_pattern.match(entry[0]) if isinstance(entry, list) else None
                if match:
                    found.add(int(match.group(1)))
        return sorted(found)

    def _call(record, name, function, *args, **kwargs):
        """Record ``function(...)`` under ``name``, or the error it raised."""
        try:
            record[name] = function(*args, **kwargs)
        except Exception as error:  # a port's helper may be missing or broken: note it, go on
            record[name + "_error"] = type(error).__name__ + ": " + str(error)

    def _returned_array(damaris_dask, damaris_data, name, source, block):
        """What ``return_numpy_array`` gives for one block, as a block record."""
        try:
            array = damaris_dask.return_numpy_array(damaris_data, name, source, block)
        except Exception as error:
            return {"error": type(error).__name__ + ": " + str(error)}
        return _block(array)

    def _damaris4py(damaris_data, variables):
        """What the damaris4py helpers answer, or why they could not be asked."""
        record = {}  # type: dict[str, object]
        try:
            from damaris4py import server
        except Exception as error:
            record["server_error"] = "cannot import damaris4py.server: " + str(error)
        else:
            _call(record, "known_clients", lambda: [int(c) for c in server.listknownclients()])
            _call(record, "server_id", lambda: int(server.getservercomm().Get_rank()))
            _call(record, "magic_number", lambda: str(server.magicnumber_string()))
        try:
            from damaris4py.dask import damaris_dask
        except Exception as error:
            record["dask_error"] = "cannot import damaris4py.dask.damaris_dask: " + str(error)
            return record
        _call(record, "iteration", lambda: int(damaris_dask.return_iteration(damaris_data)))
        _call(record, "magic", lambda: str(damaris_dask.return_magic_number(damaris_data)))
        arrays = {}
        for name, variable in variables.items():
            for key in variable.get("blocks", {}):
                match = key_pattern.match(key)
                if match:
                    source, block = int(match.group(1)), int(match.group(2))
                    array = _returned_array(damaris_dask, damaris_data, name, source, block)
                    arrays[name + "/" + key] = array
        record["numpy_arrays"] = arrays
        return record

    def observe(damaris_data, server=None, helpers=True):
        """The record of one script run: everything the suite checks, nothing judged here.

        ``server``: the server id, when the caller knows it (the test recorders do);
        ``helpers``: also ask the damaris4py helpers (off where the caller needs no answers).
        """
        record = {"probe_format": probe_format, "python": sys.version.split()[0], "missing": []}
        if server is not None:
            record["server"] = int(server)
        if not isinstance(damaris_data, dict):
            record["missing"].append("DamarisData")
            return record
        record["top_keys"] = sorted(str(k) for k in damaris_data)
        env = damaris_data.get("damaris_env")
        if isinstance(env, dict):
            record["damaris_env"] = {str(k): _plain(v) for k, v in env.items()}
        else:
            record["missing"].append("damaris_env")
        dask_env = damaris_data.get("dask_env")
        if isinstance(dask_env, dict):
            record["dask_env"] = {str(k): _plain(v) for k, v in dask_env.items()}
        else:
            record["missing"].append("dask_env")
        iteration_data = damaris_data.get("iteration_data")
        if not isinstance(iteration_data, dict):
            record["missing"].append("iteration_data")
            return record
        if "iteration" in iteration_data:
            record["iteration"] = _plain(iteration_data["iteration"])
        else:
            record["missing"].append("iteration_data.iteration")
        variables = {
            str(name): _variable(entry)
            for name, entry in iteration_data.items()
            if name != "iteration"
        }
        record["variables"] = variables
        record["tag_servers"] = _server_from_tags(variables)
        if helpers:
            record["damaris4py"] = _damaris4py(damaris_data, variables)
        return record

    def block_arrays(damaris_data):
        """Every block array of ``iteration_data``, named ``<variable>::<key>`` (what a blocks
        file holds); entries that are not shaped like DamarisData are left out."""
        arrays = {}
        for name, entry in damaris_data["iteration_data"].items():
            numpy_data = entry.get("numpy_data") if isinstance(entry, dict) else None
            for key, array in (numpy_data or {}).items():
                if isinstance(array, np.ndarray):
                    arrays[str(name) + array_separator + str(key)] = array
        return arrays

    def write_record(record, directory, arrays=None):
        """Write ``record`` as a new JSON file in ``directory``, and ``arrays`` (from
        :func:`block_arrays`) as its ``.npz`` blocks file first; each through a temp file and
        an atomic rename, so a reader never sees half a file or a record without its blocks."""
        servers = record.get("tag_servers") or [
            record.get("server", record.get("damaris4py", {}).get("server_id", "x"))
        ]
        stem = "i{}_s{}_{}".format(record.get("iteration", "x"), servers[0], uuid.uuid4().hex)
        if arrays is not None:
            temporary = os.path.join(directory, "." + stem + ".tmp.npz")
            np.savez(temporary, **arrays)
            os.replace(temporary, os.path.join(directory, stem + ".npz"))
            record = dict(record, blocks_file=stem + ".npz")
        temporary = os.path.join(directory, "." + stem + ".json.tmp")
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump(record, stream, sort_keys=True)
        os.replace(temporary, os.path.join(directory, stem + ".json"))

    def main(damaris_data, execution=None):
        """Record this run (and ``execution``, how the file was run), or say on stderr why
        nothing can be recorded."""
        directory = os.environ.get(dir_variable)
        if not directory:
            sys.stderr.write(
                "conformance probe: " + dir_variable + " is not set; nothing recorded\n"
            )
            return
        try:
            record = observe(damaris_data)
            if execution is not None:
                record["execution"] = dict(execution)
        except Exception:  # keep the run going and tell the suite what broke
            record = {"probe_format": probe_format, "probe_error": traceback.format_exc()}
        os.makedirs(directory, exist_ok=True)
        write_record(record, directory)

    return observe, block_arrays, write_record, main


observe, block_arrays, write_record, main = _build()

# How this file is being executed: upstream runs it with separate globals and locals, and its
# top-level names (this counter among them) survive from one run to the next.
try:
    _probe_runs_before += 1  # type: ignore[used-before-def]  # bound by an earlier run
except NameError:
    _probe_runs_before = 0
_probe_execution = {
    "separate_locals": globals() is not locals(),
    "runs_before": _probe_runs_before,
}

if __name__ == "__main__":
    main(DamarisData, _probe_execution)  # type: ignore[name-defined]  # noqa: F821 - bound by the server
