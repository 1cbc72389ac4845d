"""``damaris-ref check-script``: static analysis of a pyscript against upstream's exec model."""
