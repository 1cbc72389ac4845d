"""The line printed in place of a picture when matplotlib is missing: one wording for every
command and example, the install command quoted so that shells such as zsh leave the
brackets alone."""

NO_PLOT = '(no plot: matplotlib is not installed; pip install "damaris-reference[plot]")'
