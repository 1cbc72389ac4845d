# The script of examples/heat2d_pdi.yml: each server sums the field blocks it got and prints
# the total beside the simulation step they come from. With one server, its sum is the
# simulation's own "C++ step ... Sum ()" line (math.fsum: the same values give the same sum
# in any order). Written for Damaris's exec model: main() imports what it uses.


def main(DD):
    import math

    iteration_data = DD["iteration_data"]
    field = iteration_data.get("field")
    if field is None:  # this server owns no client
        return
    blocks = field["numpy_data"]
    total = math.fsum(value for key in sorted(blocks) for value in blocks[key].ravel().tolist())
    steps = {int(block.ravel()[0]) for block in iteration_data["step"]["numpy_data"].values()}
    print(
        f"Python iteration  {iteration_data['iteration']} , step {min(steps)} , "
        f"Sum() = {total:.6f}",
        flush=True,
    )


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - DamarisData is provided by the Damaris server
