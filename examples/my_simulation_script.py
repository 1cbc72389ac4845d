# The pyscript of my_simulation.yml: at every iteration, the sum of every "field" block this
# server received. Executed (not imported) by each server, as Damaris runs pyscripts; main()
# imports what it uses and gets DamarisData as its argument (see the README's "Scripts").


def main(DD):
    iteration_data = DD["iteration_data"]
    field = iteration_data.get("field")
    if field is None:  # this server owns no client
        return
    blocks = field["numpy_data"]
    total = sum(float(block.sum()) for block in blocks.values())
    keys = ",".join(sorted(blocks))
    print(f"iteration {iteration_data['iteration']}: field sum {total} from {keys}", flush=True)


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - DamarisData is provided by the Damaris server
