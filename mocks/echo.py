"""Mock simulation for the ensemble runner: returns its parameters plus ``processed=True``.

Run it the way the runner does: ``python echo.py`` with encoded parameters on stdin.
"""

import dask_espresso as de


def main() -> None:
    """Read the parameters from stdin and print them back, marked as processed."""
    params = de.get_data_from_stdin()
    print(de.encode_transport_data({**params, "processed": True}))


if __name__ == "__main__":
    main()
