"""Starting, watching and ending processes and MPI jobs.

The one place that spawns, signals and reaps processes (:mod:`.processes`), builds
``mpiexec`` command lines (:mod:`.launcher`), aborts a failing job (:mod:`.job_abort`) and agrees
on a job's exit status (:mod:`.exit_status`). It builds on the core only.
"""
