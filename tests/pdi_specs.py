"""PDI specifications the PDI API tests run with (in-process, and under MPI)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOOP_SCRIPT = ROOT / "tests" / "scripts" / "noop.py"

#: the smallest useful tree: one int variable ``v`` on one dedicated core, script ``s``; lines
#: added at the end (``extra``) join the plugin section
ONE_VARIABLE_SPEC = f"""
plugins:
  damaris:
    architecture: {{sim_name: t, dedicated: {{core: 1}}}}
    datasets: [{{dataset: {{name: v, layout: one, script: s}}}}]
    layouts: [{{layout: {{name: one, type: int, dimensions: '1', global: '1'}}}}]
    pyscript: {{name: s, file: {NOOP_SCRIPT}, language: python}}
"""

#: the seed's 3dmesh_py.yml in the plugin's grammar, with a ``{cores}`` and ``{script}`` hole
#: (and no scheduler file)
SEED_SPEC = """
metadata: {{size: int}}
data: {{is_client: int}}
plugins:
  damaris:
    communicator: MPI_COMM_WORLD
    architecture:
      sim_name: 3dmesh_col_wf
      domains: {domains}
      buffer_size: 536870912
      dedicated: {{core: {cores}, node: 0}}
    parameters:
      - parameter: {{name: WIDTH, type: int, value: 16}}
      - parameter: {{name: HEIGHT, type: int, value: 8}}
      - parameter: {{name: DEPTH, type: int, value: {depth}}}
      - parameter: {{name: size, type: int, value: 4}}
      - parameter: {{name: whd_layout, type: int, value: 2}}
      - parameter: {{name: blocks, type: int, value: 1}}
    datasets:
      - dataset: {{name: cube_i, layout: cells_whd_wf, script: MyPyAction}}
      - dataset: {{name: cube_f, layout: cells_whd_wf_float, script: MyPyAction}}
      - dataset: {{name: last_iter, layout: one_int, time_varying: true, script: MyPyAction}}
      - dataset: {{name: array_sum, layout: one_double, time_varying: true, script: MyPyAction}}
    layouts:
      - layout: {{name: cells_whd_wf, type: int, dimensions: 'WIDTH/size,HEIGHT,DEPTH/blocks',
                  global: 'WIDTH,HEIGHT,DEPTH'}}
      - layout: {{name: cells_whd_wf_float, type: float, dimensions: 'WIDTH/size,HEIGHT,DEPTH',
                  global: 'WIDTH,HEIGHT,DEPTH'}}
      - layout: {{name: one_int, type: int, dimensions: '1', global: '1'}}
      - layout: {{name: one_double, type: double, dimensions: '1', global: '1'}}
    pyscript: {{name: MyPyAction, file: {script}, language: python, frequency: 1}}
"""


def seed_spec(
    tmp_path: Path, cores: int = 1, domains: int = 1, depth: int = 4, script: Path = NOOP_SCRIPT
) -> Path:
    """The seed's PDI file (with a ``blocks`` parameter for the domains program), written."""
    path = tmp_path / "3dmesh_py.yml"
    text = SEED_SPEC.format(cores=cores, domains=domains, depth=depth, script=script)
    path.write_text(text, encoding="utf-8")
    return path
