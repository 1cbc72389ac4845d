"""Sphinx configuration of the API reference (``tox -e docs``), built from the docstrings.

Only ``api.rst`` is a Sphinx page; the other pages of docs/ are Markdown read as they are.
"""

project = "damaris-reference"
root_doc = "api"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
exclude_patterns = ["*.md"]
# members in the order a module's __all__ and source give them, not alphabetical
autodoc_member_order = "bysource"
# type aliases named as written, not expanded into their unions
autodoc_type_aliases = {"KeyPath": "KeyPath", "RankMain": "RankMain", "Message": "Message"}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
html_theme = "alabaster"
