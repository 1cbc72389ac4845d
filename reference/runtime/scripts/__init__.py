"""Running user pyscripts on servers, and what those scripts can ask (damaris4py)."""
