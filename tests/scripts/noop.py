"""A pyscript that does nothing: tests observe DamarisData through the engine's observer."""

if __name__ == "__main__":
    assert isinstance(DamarisData, dict)  # noqa: F821 - provided by the server
