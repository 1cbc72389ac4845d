"""A pyscript that always fails: the server must report it and carry on."""

if __name__ == "__main__":
    raise RuntimeError("deliberate failure in a test pyscript")
